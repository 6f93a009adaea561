package octosim

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Users and their API keys, as a real server keeps them (server-level, not
// in any space; not part of the kind registry, since octobundle never syncs
// users):
//
//	GET/POST /api/users{?skip,take,ids,filter}, GET /api/users/all
//	GET/PUT/DELETE /api/users/{id}, GET /api/users/me
//	GET /api/users/{id}/spaces, /api/users/{id}/teams
//	GET/POST /api/users/{id}/apikeys{?skip,take}, GET/DELETE /api/users/{id}/apikeys/{keyId}
//	GET /api/users/authentication, /api/users/authentication/{userId}
//
// A fresh instance has one user, Users-1 (an administrator), who owns the
// server's API key (Options.APIKey). Every request is made as the user who
// owns the key it carries: /users/me answers that user and IsRequestor
// marks it. Keys created through the API authenticate as their user while
// the user is active and the key has not expired.
//
// Secrets are write-only: a user's Password is never answered; an API key
// is answered in clear once, by the POST that creates it
// (ApiKeyCreatedResource), and afterwards as a SensitiveValue with its hint
// (the first eight characters, "API-ABCD").

// apiKeyUserID is the user who owns the server's configured API key.
const apiKeyUserID = "Users-1"

// Collections of the server-level store (state.server) that hold users and
// API keys; they are simulator state, not registry collections.
const (
	usersColl   = "users"
	apiKeysColl = "apikeys"
)

// userFields are the fields a user document keeps; anything else a client
// sends is dropped, as a real server's model drops it.
var userFields = []string{"Username", "DisplayName", "EmailAddress", "IsActive", "IsService", "Password", "Identities"}

func init() {
	registerServerRoute("users", (*Server).serveUsers)
	registerSubResource("users", "apikeys", func(s *Server, r *request, _ *space, u map[string]any, segs []string) (int, any, error) {
		return s.serveAPIKeys(r, u, segs[1:])
	})
	subResources = append(subResources, subResource{Owner: "users", Link: "ApiKeys", Sub: "apikeys", Query: "{/id}{?skip,take}", External: true})
}

// addAPIKeyUser creates Users-1 and records the configured API key as
// theirs.
func (s *Server) addAPIKeyUser() {
	s.st.noteID(apiKeyUserID)
	s.st.server.coll(usersColl).put(apiKeyUserID, map[string]any{
		"Id": apiKeyUserID, "Username": "admin", "DisplayName": "Administrator", "EmailAddress": "admin@example.com",
		"IsActive": true, "IsService": false, "Identities": []any{},
	})
	s.storeAPIKey(apiKeyUserID, "Octopus simulator API key", s.apiKey, nil)
}

// userForKey returns the ID of the active user who owns key, if the key is
// known and has not expired.
func (s *Server) userForKey(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	now := time.Now()
	for _, k := range s.st.server.coll(apiKeysColl).all() {
		sec := storedSecret(k["ApiKey"])
		if sec == nil || *sec != key {
			continue
		}
		if exp, err := time.Parse(time.RFC3339Nano, str(k["Expires"])); err == nil && exp.Before(now) {
			return "", false
		}
		u := s.st.server.coll(usersColl).get(str(k["UserId"]))
		if u == nil {
			return "", false
		}
		if active, _ := u["IsActive"].(bool); !active {
			return "", false
		}
		return str(u["Id"]), true
	}
	return "", false
}

// serveUsers answers /api/users/….
func (s *Server) serveUsers(r *request, segs []string) (int, any, error) {
	users := s.st.server.coll(usersColl)
	switch {
	case len(segs) == 0:
		switch r.method {
		case http.MethodGet:
			return http.StatusOK, page(r, "User", s.listUsers(r)), nil
		case http.MethodPost:
			return s.createUser(r)
		}
		return 0, nil, methodNotAllowed(r.method, r.path)
	case strings.EqualFold(segs[0], "all"):
		if len(segs) != 1 || r.method != http.MethodGet {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		out := []map[string]any{}
		for _, u := range users.all() {
			out = append(out, s.renderUser(r, u))
		}
		return http.StatusOK, out, nil
	case strings.EqualFold(segs[0], "authentication"):
		return s.serveUserAuthentication(r, segs[1:])
	}
	id := segs[0]
	if strings.EqualFold(id, "me") {
		id = r.userID
	}
	u := users.get(id)
	if u == nil {
		return 0, nil, notFound(r.path)
	}
	if len(segs) > 1 {
		if h := subHandlerFor("users", segs[1]); h != nil {
			return h(s, r, nil, u, segs[1:])
		}
		if sr := findSubResource("users", segs[1:]); sr != nil {
			return s.serveSubResource(r, nil, sr, u)
		}
		return 0, nil, notFound(r.path)
	}
	switch r.method {
	case http.MethodGet:
		return http.StatusOK, s.renderUser(r, u), nil
	case http.MethodPut:
		return s.updateUser(r, u)
	case http.MethodDelete:
		return s.deleteUser(r, u)
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// listUsers selects users by ids and filter (a part of the username,
// display name or email address).
func (s *Server) listUsers(r *request) []map[string]any {
	var ids map[string]bool
	if v := r.q("ids"); v != "" {
		ids = map[string]bool{}
		for _, id := range strings.Split(v, ",") {
			ids[strings.ToLower(strings.TrimSpace(id))] = true
		}
	}
	filter := strings.ToLower(r.q("filter"))
	var out []map[string]any
	for _, u := range s.st.server.coll(usersColl).all() {
		if ids != nil && !ids[strings.ToLower(str(u["Id"]))] {
			continue
		}
		if filter != "" && !slices.ContainsFunc([]string{"Username", "DisplayName", "EmailAddress"}, func(f string) bool {
			return strings.Contains(strings.ToLower(str(u[f])), filter)
		}) {
			continue
		}
		out = append(out, s.renderUser(r, u))
	}
	return out
}

// renderUser is a user as the server answers it: no password; IsRequestor
// for the requesting user; CanPasswordBeEdited for users who sign in with
// a password (not service accounts).
func (s *Server) renderUser(r *request, u map[string]any) map[string]any {
	out := copyDoc(u)
	delete(out, "Password")
	id := str(u["Id"])
	service, _ := u["IsService"].(bool)
	out["IsRequestor"] = strings.EqualFold(id, r.userID)
	out["CanPasswordBeEdited"] = !service
	if out["Identities"] == nil {
		out["Identities"] = []any{}
	}
	out["Links"] = userLinks("/api/users/" + id)
	return out
}

// userBody takes the user fields of a request body.
func userBody(body map[string]any) map[string]any {
	doc := map[string]any{}
	for _, f := range userFields {
		if v, ok := body[f]; ok {
			doc[f] = v
		}
	}
	return doc
}

// validateUser checks a user about to be stored (id empty for a new one).
func (s *Server) validateUser(doc map[string]any, id string) error {
	var errs []string
	name := strings.TrimSpace(str(doc["Username"]))
	if name == "" {
		errs = append(errs, "Please provide a username.")
	}
	if strings.TrimSpace(str(doc["DisplayName"])) == "" {
		errs = append(errs, "Please provide a display name.")
	}
	for _, u := range s.st.server.coll(usersColl).all() {
		if name != "" && !strings.EqualFold(str(u["Id"]), id) && strings.EqualFold(str(u["Username"]), name) {
			errs = append(errs, fmt.Sprintf("A user with the username '%s' already exists.", name))
		}
	}
	if service, _ := doc["IsService"].(bool); service && str(doc["Password"]) != "" {
		errs = append(errs, "Service accounts cannot have a password.")
	}
	if len(errs) > 0 {
		return badRequest(errs...)
	}
	return nil
}

// createUser is POST /api/users.
func (s *Server) createUser(r *request) (int, any, error) {
	doc := userBody(r.body)
	if _, ok := doc["IsActive"]; !ok {
		doc["IsActive"] = true
	}
	if _, ok := doc["IsService"]; !ok {
		doc["IsService"] = false
	}
	if err := s.validateUser(doc, ""); err != nil {
		return 0, nil, err
	}
	doc["Id"] = s.st.nextID("Users")
	doc["Username"] = strings.TrimSpace(str(doc["Username"]))
	s.st.server.coll(usersColl).put(str(doc["Id"]), doc)
	return http.StatusCreated, s.renderUser(r, doc), nil
}

// updateUser is PUT /api/users/{id}: the fields sent replace the stored
// ones; a password that is not sent is kept.
func (s *Server) updateUser(r *request, u map[string]any) (int, any, error) {
	doc := copyDoc(u)
	for k, v := range userBody(r.body) {
		if k == "Password" && str(v) == "" {
			continue
		}
		doc[k] = v
	}
	if err := s.validateUser(doc, str(u["Id"])); err != nil {
		return 0, nil, err
	}
	s.st.server.coll(usersColl).put(str(doc["Id"]), doc)
	return http.StatusOK, s.renderUser(r, doc), nil
}

// deleteUser is DELETE /api/users/{id}: the user's API keys, team
// memberships and space manager entries go with them. Nobody can delete
// their own account.
func (s *Server) deleteUser(r *request, u map[string]any) (int, any, error) {
	id := str(u["Id"])
	if strings.EqualFold(id, r.userID) {
		return 0, nil, badRequest("You cannot delete your own user account.")
	}
	keys := s.st.server.coll(apiKeysColl)
	for _, k := range keys.where("UserId", id) {
		keys.remove(str(k["Id"]))
	}
	for _, d := range s.st.spaces.all() {
		s.dropUserFrom(d, "SpaceManagersTeamMembers", id)
		if sp := s.st.lookupSpace(str(d["Id"])); sp != nil {
			teams := sp.coll("teams")
			for _, t := range teams.all() {
				if nt := copyDoc(t); s.dropUserFrom(nt, "MemberUserIds", id) {
					teams.put(str(nt["Id"]), nt)
				}
			}
		}
	}
	s.st.server.coll(usersColl).remove(id)
	return http.StatusOK, nil, nil
}

// dropUserFrom removes user id from the ID list doc[field], reporting
// whether it was there.
func (s *Server) dropUserFrom(doc map[string]any, field, id string) bool {
	ids := strs(doc[field])
	kept := []any{}
	for _, v := range ids {
		if !strings.EqualFold(v, id) {
			kept = append(kept, v)
		}
	}
	if len(kept) == len(ids) {
		return false
	}
	doc[field] = kept
	return true
}

// serveAPIKeys answers /api/users/{id}/apikeys[/{keyId}].
func (s *Server) serveAPIKeys(r *request, u map[string]any, segs []string) (int, any, error) {
	userID := str(u["Id"])
	keys := s.st.server.coll(apiKeysColl)
	if len(segs) == 0 {
		switch r.method {
		case http.MethodGet:
			mine := keys.where("UserId", userID)
			items := make([]map[string]any, 0, len(mine))
			for i := len(mine) - 1; i >= 0; i-- { // newest first
				items = append(items, renderAPIKey(mine[i]))
			}
			return http.StatusOK, page(r, "ApiKey", items), nil
		case http.MethodPost:
			return s.createAPIKey(r, u)
		}
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	k := keys.get(segs[0])
	if len(segs) != 1 || k == nil || !strings.EqualFold(str(k["UserId"]), userID) {
		return 0, nil, notFound(r.path)
	}
	switch r.method {
	case http.MethodGet:
		return http.StatusOK, renderAPIKey(k), nil
	case http.MethodDelete:
		keys.remove(str(k["Id"]))
		return http.StatusOK, nil, nil
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// createAPIKey is POST /api/users/{id}/apikeys: a key for the requesting
// user or for a service account, answered in clear this once.
func (s *Server) createAPIKey(r *request, u map[string]any) (int, any, error) {
	userID := str(u["Id"])
	service, _ := u["IsService"].(bool)
	if !service && !strings.EqualFold(userID, r.userID) {
		return 0, nil, &apiError{Status: http.StatusForbidden,
			Message: "API keys can only be created for your own account or for a service account."}
	}
	purpose := strings.TrimSpace(str(r.body["Purpose"]))
	if purpose == "" {
		return 0, nil, badRequest("Please provide a purpose for the API key.")
	}
	var expires any
	if e := str(r.body["Expires"]); e != "" {
		t, err := time.Parse(time.RFC3339Nano, e)
		if err != nil {
			return 0, nil, badRequestf("The expiry date '%s' is not a valid date.", e)
		}
		expires = t.UTC().Format(time.RFC3339Nano)
	}
	key := newAPIKeySecret()
	doc := s.storeAPIKey(userID, purpose, key, expires)
	out := renderAPIKey(doc)
	out["ApiKey"] = key
	return http.StatusCreated, out, nil
}

// storeAPIKey records key for user and returns the stored document.
func (s *Server) storeAPIKey(userID, purpose, key string, expires any) map[string]any {
	doc := map[string]any{
		"Id": "apikeys-" + randomAlnum(30, true), "Purpose": purpose, "UserId": userID,
		"ApiKey": sensitive(&key), "Created": time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"), "Expires": expires,
	}
	s.st.server.coll(apiKeysColl).put(str(doc["Id"]), doc)
	return doc
}

// renderAPIKey is an API key as GET answers it: the key itself only as a
// SensitiveValue with its hint.
func renderAPIKey(k map[string]any) map[string]any {
	out := copyDoc(k)
	hint := ""
	if sec := storedSecret(k["ApiKey"]); sec != nil {
		hint = *sec
		if len(hint) > 8 {
			hint = hint[:8]
		}
	}
	out["ApiKey"] = map[string]any{"HasValue": true, "NewValue": nil, "Hint": hint}
	out["Links"] = map[string]any{"Self": "/api/users/" + str(k["UserId"]) + "/apikeys/" + str(k["Id"])}
	return out
}

// newAPIKeySecret returns a new key in the server's format: "API-" and 26
// upper-case letters and digits.
func newAPIKeySecret() string { return "API-" + randomAlnum(26, false) }

// randomAlnum returns n random letters and digits (upper-case only unless
// mixed).
func randomAlnum(n int, mixed bool) string {
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	if mixed {
		alphabet += "abcdefghijklmnopqrstuvwxyz"
	}
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// usernamePasswordProvider is the server's built-in sign-in method, the
// only authentication provider the simulator has.
func usernamePasswordProvider() map[string]any {
	return map[string]any{
		"Name": "Username/Password", "IdentityType": "UsernamePassword", "FormsLoginEnabled": true,
		"CSSLinks": []any{}, "JavascriptLinks": []any{}, "Links": map[string]any{},
	}
}

// serveUserAuthentication answers GET /api/users/authentication[/{userId}]:
// the enabled providers and whether the requesting user (an
// administrator) may edit the user's identities.
func (s *Server) serveUserAuthentication(r *request, segs []string) (int, any, error) {
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	switch len(segs) {
	case 0:
	case 1:
		if s.st.server.coll(usersColl).get(segs[0]) == nil {
			return 0, nil, notFound(r.path)
		}
	default:
		return 0, nil, notFound(r.path)
	}
	return http.StatusOK, map[string]any{
		"AuthenticationProviders":             []any{usernamePasswordProvider()},
		"CanCurrentUserEditIdentitiesForUser": true,
		"Links":                               map[string]any{},
	}, nil
}

// userLinks are the links of the user whose Self is self (the subResources
// table's users entries).
func userLinks(self string) map[string]any {
	l := map[string]any{"Self": self}
	for _, sr := range subResources {
		if sr.Owner == "users" {
			l[sr.Link] = self + "/" + sr.Sub + sr.Query
		}
	}
	return l
}

// userSpaces is GET users/{id}/spaces: the spaces the user can see, a bare
// array. The API key's user is an administrator and sees every space;
// another user sees the spaces they manage or where a team has them as a
// member.
func userSpaces(s *Server, _ *space, user map[string]any) any {
	id := strings.ToLower(str(user["Id"]))
	me := map[string]bool{id: true}
	out := []any{}
	for _, d := range s.st.spaces.all() {
		if id != strings.ToLower(apiKeyUserID) && !anyValueIn(d["SpaceManagersTeamMembers"], me) && !s.inSpaceTeam(str(d["Id"]), me) {
			continue
		}
		out = append(out, renderSpace(d))
	}
	return out
}

// inSpaceTeam reports whether a team of the space has the user as a member.
func (s *Server) inSpaceTeam(spaceID string, user map[string]bool) bool {
	sp := s.st.lookupSpace(spaceID)
	if sp == nil {
		return false
	}
	for _, t := range sp.coll("teams").all() {
		if anyValueIn(t["MemberUserIds"], user) {
			return true
		}
	}
	return false
}

// userTeams is GET users/{id}/teams: the teams that have the user as a
// member, as projected team references (a bare array).
func userTeams(s *Server, _ *space, user map[string]any) any {
	out := []any{}
	id := strings.ToLower(str(user["Id"]))
	for _, d := range s.st.spaces.all() {
		sp := s.st.lookupSpace(str(d["Id"]))
		if sp == nil {
			continue
		}
		for _, t := range sp.coll("teams").all() {
			if anyValueIn(t["MemberUserIds"], map[string]bool{id: true}) {
				out = append(out, map[string]any{"Id": t["Id"], "Name": t["Name"], "SpaceId": t["SpaceId"],
					"IsDirectlyAssigned": true, "ExternalSecurityGroups": []any{}})
			}
		}
	}
	return out
}
