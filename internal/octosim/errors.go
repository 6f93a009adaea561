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

// writeError answers err as JSON.
func writeError(w http.ResponseWriter, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = &apiError{Status: http.StatusInternalServerError, Message: err.Error()}
	}
	body := map[string]any{
		"ErrorMessage":    ae.Message,
		"Errors":          ae.Errors,
		"ParsedHelpLinks": []any{},
	}
	if ae.Errors == nil {
		body["Errors"] = []string{}
	}
	writeJSON(w, ae.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]any{"ErrorMessage": err.Error(), "Errors": []string{}})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
