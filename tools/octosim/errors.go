package octosim

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an error answered as Octopus does:
// {"ErrorMessage": "...", "Errors": [...]} with a status code.
type apiError struct {
	Status  int
	Message string
	Errors  []string
}

func (e *apiError) Error() string {
	if len(e.Errors) > 0 {
		return fmt.Sprintf("%d %s %v", e.Status, e.Message, e.Errors)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

// badRequest is a 400 with the message the real server uses for model
// validation failures.
func badRequest(errs ...string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: "There was a problem with your request.", Errors: errs}
}

func badRequestf(format string, args ...any) *apiError {
	return badRequest(fmt.Sprintf(format, args...))
}

func notFound(what string) *apiError {
	return &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("The resource '%s' was not found.", what)}
}

func conflict(msg string) *apiError {
	return &apiError{
		Status:  http.StatusConflict,
		Message: "The resource you are trying to modify has been modified since you last loaded it.",
		Errors:  []string{msg},
	}
}

func methodNotAllowed(method, path string) *apiError {
	return &apiError{Status: http.StatusMethodNotAllowed, Message: fmt.Sprintf("The requested resource does not support http method '%s' at %s.", method, path)}
}

// errorBodyFields lists, per status, the fields of the error body a real
// server answers; statuses not listed answer all three. One table, so every
// route answers a status the same way.
//
// A 404 carries no Errors array: go-octopusdeploy's core.APIErrorChecker
// (pkg/core/api_error.go) returns a plain error whenever Errors is present,
// even empty, and a *core.APIError with StatusCode 404 only when it is
// absent; its e2e suite, run against real servers, asserts the latter after
// deleting an entity (test/e2e/account_service_test.go, channel_service_test.go,
// variable_service_test.go: err.(*core.APIError).StatusCode == 404), so a
// real server's 404 body has no Errors.
var errorBodyFields = map[int][]string{
	http.StatusNotFound: {"ErrorMessage"},
}

// writeError answers err as JSON, in the body shape of its status (see
// errorBodyFields).
func writeError(w http.ResponseWriter, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = &apiError{Status: http.StatusInternalServerError, Message: err.Error()}
	}
	errs := ae.Errors
	if errs == nil {
		errs = []string{}
	}
	all := map[string]any{
		"ErrorMessage":    ae.Message,
		"Errors":          errs,
		"ParsedHelpLinks": []any{},
	}
	fields, ok := errorBodyFields[ae.Status]
	if !ok {
		writeJSON(w, ae.Status, all)
		return
	}
	body := map[string]any{}
	for _, f := range fields {
		body[f] = all[f]
	}
	writeJSON(w, ae.Status, body)
}

// jsonCheck, when set (by the package's tests), sees every answer writeJSON
// encodes, to compare it with json.Marshal's.
var jsonCheck func(v any, got []byte)

// writeJSON answers v as JSON with the given status: the bytes
// json.Marshal writes, encoded by jsonv.AppendMarshal (marshalJSON).
func writeJSON(w http.ResponseWriter, status int, v any) {
	if e, ok := v.(*encodedJSON); ok {
		// Encoded under the lock (encodeNow): written as it is.
		if jsonCheck != nil {
			jsonCheck(e, *e.bp)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(*e.bp)
		releaseJSON(e.bp)
		return
	}
	bp, err := marshalJSON(v)
	if err != nil {
		if _, merr := json.Marshal(v); merr != nil {
			err = merr // json.Marshal's own message
		}
		status = http.StatusInternalServerError
		b, _ := json.Marshal(map[string]any{"ErrorMessage": err.Error(), "Errors": []string{}})
		bp = &b
	} else {
		defer releaseJSON(bp)
		if jsonCheck != nil {
			jsonCheck(v, *bp)
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(*bp)
}
