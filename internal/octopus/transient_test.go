package octopus

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestIsTransient(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"400", &APIError{Method: "PUT", Path: "/api/x", Status: 400}, false},
		{"404", &APIError{Status: 404}, false},
		{"409 conflict", fmt.Errorf("updating: %w", &APIError{Status: 409}), true},
		{"429 rate limit", &APIError{Status: 429}, true},
		{"500", &APIError{Status: 500}, true},
		{"503 after retries", fmt.Errorf("%w (gave up after 8 attempts)", &APIError{Status: 503}), true},
		{"501 not implemented", &APIError{Status: 501}, false},
		{"uncertain POST", fmt.Errorf("%w: %w", ErrUncertainWrite, &transportError{"POST /api/x: EOF"}), true},
		{"dropped connection", fmt.Errorf("reading: %w", &transportError{"GET /api/x: connection reset"}), true},
		{"cancelled", fmt.Errorf("run: %w", context.Canceled), true},
		{"request timed out", fmt.Errorf("%w after 60s: GET /api/x", ErrRequestTimeout), true},
		{"malformed answer", fmt.Errorf("GET /api/x: %w", ErrMalformedAnswer), false},
		{"our own refusal", errors.New("refusing to write: the destination variable \"X\" would be removed"), false},
	} {
		if got := IsTransient(tc.err); got != tc.want {
			t.Errorf("%s: IsTransient = %v, want %v", tc.name, got, tc.want)
		}
	}
}
