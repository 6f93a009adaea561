package octosim

import (
	"net/http"
	"strings"

	"github.com/octobundle/octobundle/schema"
)

// Server configuration sections (GET /api/configuration, the root
// document's Configuration link "/api/configuration{/id}"):
//
//	GET /api/configuration                 a page of section metadata
//	GET /api/configuration/{id}            {Id, Name, Description, Links: {Self, Values, Metadata}}
//	GET/PUT /api/configuration/{id}/values the section's settings
//	GET /api/configuration/{id}/metadata   {Description, Types}
//
// The simulator keeps the sections a fresh server shows for its built-in
// sign-in and upgrade checks; a PUT of values replaces the fields it sends
// and keeps the others. configuration/feature-toggles is served here too
// (featuretoggles.go).

// configSection is one configuration section and its default values.
type configSection struct {
	ID, Name, Description string
	Values                map[string]any
}

// configSections are the sections, in the order the server lists them.
var configSections = []configSection{
	{ID: "authentication", Name: "Authentication", Description: "Authentication settings",
		Values: map[string]any{"AutoLoginEnabled": false}},
	{ID: "usernamepassword", Name: "Username/Password", Description: "Username/Password authentication settings",
		Values: map[string]any{"IsEnabled": true}},
	{ID: "guest", Name: "Guest Login", Description: "Guest login settings",
		Values: map[string]any{"IsEnabled": false}},
	{ID: "upgrades", Name: "Upgrades", Description: "Upgrade check settings",
		Values: map[string]any{"NotificationLevel": "AlwaysShow", "AllowChecking": true, "IncludeStatistics": true}},
}

// configValuesColl stores the values a PUT changed, one document per
// section (server-level simulator state).
const configValuesColl = "configurationvalues"

func init() { registerServerRoute("configuration", (*Server).serveConfiguration) }

func lookupConfigSection(id string) *configSection {
	for i := range configSections {
		if strings.EqualFold(configSections[i].ID, id) {
			return &configSections[i]
		}
	}
	return nil
}

// serveConfiguration answers /api/configuration/….
func (s *Server) serveConfiguration(r *request, segs []string) (int, any, error) {
	if len(segs) == 1 && strings.EqualFold(segs[0], "feature-toggles") {
		return s.serveFeatureToggles(r)
	}
	if len(segs) == 0 {
		if r.method != http.MethodGet {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		items := make([]map[string]any, 0, len(configSections))
		for i := range configSections {
			items = append(items, renderConfigSection(&configSections[i]))
		}
		return http.StatusOK, page(r, "ConfigurationSection", items), nil
	}
	sec := lookupConfigSection(segs[0])
	if sec == nil || len(segs) > 2 {
		return 0, nil, notFound(r.path)
	}
	switch {
	case len(segs) == 1 && r.method == http.MethodGet:
		return http.StatusOK, renderConfigSection(sec), nil
	case len(segs) == 2 && strings.EqualFold(segs[1], "metadata") && r.method == http.MethodGet:
		return http.StatusOK, map[string]any{"Description": sec.Description, "Types": []any{}}, nil
	case len(segs) == 2 && strings.EqualFold(segs[1], "values"):
		switch r.method {
		case http.MethodGet:
			return http.StatusOK, s.configValues(sec), nil
		case http.MethodPut:
			vals := s.configValues(sec)
			for k := range sec.Values {
				if v, ok := fieldFoldOK(r.body, k); ok {
					vals[k] = schema.DeepCopy(v)
				}
			}
			s.st.server.coll(configValuesColl).put(sec.ID, vals)
			return http.StatusOK, copyDoc(vals), nil
		}
	case len(segs) == 2 && !strings.EqualFold(segs[1], "values") && !strings.EqualFold(segs[1], "metadata"):
		return 0, nil, notFound(r.path)
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// renderConfigSection is a section's metadata with its links.
func renderConfigSection(sec *configSection) map[string]any {
	self := "/api/configuration/" + sec.ID
	return map[string]any{
		"Id": sec.ID, "Name": sec.Name, "Description": sec.Description,
		"Links": map[string]any{"Self": self, "Values": self + "/values", "Metadata": self + "/metadata"},
	}
}

// configValues is a section's current values (defaults unless a PUT
// changed them).
func (s *Server) configValues(sec *configSection) map[string]any {
	if d := s.st.server.coll(configValuesColl).get(sec.ID); d != nil {
		return copyDoc(d)
	}
	vals := copyDoc(sec.Values)
	vals["Id"] = sec.ID
	return vals
}

// fieldFoldOK returns m's value for name matched case-insensitively.
func fieldFoldOK(m map[string]any, name string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}
