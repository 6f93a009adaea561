package octosim

import (
	"net/http"
	"strings"
)

// GET /api/configuration/feature-toggles[?Name=…] answers the server's
// feature toggles as go-octopusdeploy's configuration.Get reads them:
// {"FeatureToggles": [{"Name", "IsEnabled"}]}. The simulator lists the
// toggles that change what it serves: CommonVariableScopingFeatureToggle,
// on from 2025.2 (scoped tenant variables; the legacy tenant variables PUT
// is refused).

// serveFeatureToggles answers configuration/feature-toggles (routed by
// configuration.go).
func (s *Server) serveFeatureToggles(r *request) (int, any, error) {
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	return http.StatusOK, map[string]any{"FeatureToggles": s.featureToggles(r.q("Name"))}, nil
}

// featureToggles lists the toggles, or the one named name.
func (s *Server) featureToggles(name string) []any {
	all := []map[string]any{
		{"Name": tenantVariablesToggle(), "IsEnabled": s.scopedTenantVariables()},
	}
	out := []any{}
	for _, t := range all {
		if name == "" || strings.EqualFold(name, str(t["Name"])) {
			out = append(out, t)
		}
	}
	return out
}
