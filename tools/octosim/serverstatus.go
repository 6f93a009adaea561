package octosim

import (
	"net/http"
	"runtime"
	"strings"
	"time"
)

// Server status (the root document's ServerStatus, ServerHealthStatus,
// ExtensionStats and Timezones links):
//
//	GET /api/serverstatus              {IsDatabaseEncrypted, IsInMaintenanceMode, IsUpgradeAvailable, …, Links}
//	GET /api/serverstatus/health       {Status: "Healthy", Description}
//	GET /api/serverstatus/system-info  {Version, OSVersion, ThreadCount, Uptime, …}
//	GET /api/serverstatus/extensions   the installed extensions' statistics (none)
//	GET /api/serverstatus/timezones    [{Id, Name}]
//
// The simulator is never in maintenance mode, has no upgrade to offer and
// reports its own version as the newest one its licence covers.

func init() { registerServerRoute("serverstatus", (*Server).serveServerStatus) }

// serverStatusDocs are the documents below /api/serverstatus by segment
// ("" for the status itself).
var serverStatusDocs = map[string]func(s *Server) any{
	"":            (*Server).serverStatus,
	"health":      func(*Server) any { return map[string]any{"Status": "Healthy", "Description": "The server is healthy."} },
	"system-info": (*Server).systemInfo,
	"extensions":  func(*Server) any { return []any{} },
	"timezones":   func(*Server) any { return serverTimezones },
}

// serverTimezones are the time zones the server offers for scheduled
// triggers (a subset of the IANA/Windows list a real server answers).
var serverTimezones = []any{
	map[string]any{"Id": "UTC", "Name": "(UTC) Coordinated Universal Time"},
	map[string]any{"Id": "GMT Standard Time", "Name": "(UTC+00:00) Dublin, Edinburgh, Lisbon, London"},
	map[string]any{"Id": "W. Europe Standard Time", "Name": "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"},
	map[string]any{"Id": "Eastern Standard Time", "Name": "(UTC-05:00) Eastern Time (US & Canada)"},
	map[string]any{"Id": "Pacific Standard Time", "Name": "(UTC-08:00) Pacific Time (US & Canada)"},
	map[string]any{"Id": "AUS Eastern Standard Time", "Name": "(UTC+10:00) Canberra, Melbourne, Sydney"},
	map[string]any{"Id": "E. Australia Standard Time", "Name": "(UTC+10:00) Brisbane"},
}

// serveServerStatus answers GET /api/serverstatus[/{doc}].
func (s *Server) serveServerStatus(r *request, segs []string) (int, any, error) {
	if len(segs) > 1 {
		return 0, nil, notFound(r.path)
	}
	name := ""
	if len(segs) == 1 {
		name = strings.ToLower(segs[0])
	}
	doc, ok := serverStatusDocs[name]
	if !ok {
		return 0, nil, notFound(r.path)
	}
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	return http.StatusOK, doc(s), nil
}

// serverStatus is GET /api/serverstatus.
func (s *Server) serverStatus() any {
	return map[string]any{
		"Id": "serverstatus", "IsDatabaseEncrypted": true, "IsMajorMinorUpgrade": false, "IsInMaintenanceMode": false,
		"IsUpgradeAvailable": false, "MaintenanceExpires": nil, "MaximumAvailableVersion": s.version,
		"MaximumAvailableVersionCoveredByLicense": s.version, "IsCompatibilityModeEnabled": false,
		"Links": map[string]any{
			"Self": "/api/serverstatus", "Health": "/api/serverstatus/health", "SystemInfo": "/api/serverstatus/system-info",
			"Extensions": "/api/serverstatus/extensions", "Timezones": "/api/serverstatus/timezones",
		},
	}
}

// systemInfo is GET /api/serverstatus/system-info.
func (s *Server) systemInfo() any {
	return map[string]any{
		"Id": "systeminfo", "Version": s.version, "OSVersion": runtime.GOOS + "/" + runtime.GOARCH,
		"ClrVersion": runtime.Version(), "ThreadCount": runtime.NumGoroutine(),
		"Uptime": time.Since(s.started).Round(time.Second).String(), "Links": map[string]any{},
	}
}
