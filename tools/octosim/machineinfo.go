package octosim

import (
	"net/http"
	"sort"
	"strings"
)

// Lists a real server derives from its deployment targets and workers, and
// the dynamic worker types it offers:
//
//	GET /api/{space}/machines/operatingsystem/names/all   distinct OperatingSystem values of the targets
//	GET /api/{space}/machines/operatingsystem/shells/all  distinct ShellName values of the targets
//	GET /api/{space}/workers/operatingsystem/names/all    … of the workers
//	GET /api/{space}/workers/operatingsystem/shells/all
//	GET /api/{space}/workerpools/dynamicworkertypes       {Id, WorkerTypes: [{Id, Type, Description, …}], Links}
//
// The operating systems and shells are bare sorted string arrays, empty
// when no machine has reported one (the simulator runs no health checks,
// so only what a seed or a write stored).

// dynamicWorkerTypes are the worker images of Octopus-hosted dynamic
// worker pools.
var dynamicWorkerTypes = []map[string]any{
	{"Id": "Ubuntu-22.04", "Type": "Ubuntu", "Description": "Ubuntu Server 22.04 with Docker", "DeprecationDateUtc": nil, "EndOfLifeDateUtc": nil, "StartDateUtc": nil},
	{"Id": "Windows-2022", "Type": "Windows", "Description": "Windows Server Core 2022 with Docker", "DeprecationDateUtc": nil, "EndOfLifeDateUtc": nil, "StartDateUtc": nil},
}

func init() {
	for _, coll := range []string{"machines", "workers"} {
		registerCollRoute(coll, "operatingsystem", serveOperatingSystems(coll))
	}
	registerCollRoute("workerpools", "dynamicworkertypes", (*Server).serveDynamicWorkerTypes)
}

// operatingSystemFields are the machine fields behind names/all and
// shells/all.
var operatingSystemFields = map[string]string{"names": "OperatingSystem", "shells": "ShellName"}

// serveOperatingSystems answers {coll}/operatingsystem/{names|shells}/all.
func serveOperatingSystems(coll string) collRouteHandler {
	return func(s *Server, r *request, sp *space, segs []string) (int, any, error) {
		if len(segs) != 2 || !strings.EqualFold(segs[1], "all") {
			return 0, nil, notFound(r.path)
		}
		field, ok := operatingSystemFields[strings.ToLower(segs[0])]
		if !ok {
			return 0, nil, notFound(r.path)
		}
		if r.method != http.MethodGet {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		seen := map[string]bool{}
		out := []string{}
		for _, m := range s.st.collFor(sp, lookupColl(coll)).all() {
			if v := str(m[field]); v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
		sort.Strings(out)
		return http.StatusOK, out, nil
	}
}

// serveDynamicWorkerTypes answers GET workerpools/dynamicworkertypes.
func (s *Server) serveDynamicWorkerTypes(r *request, sp *space, segs []string) (int, any, error) {
	if len(segs) != 0 {
		return 0, nil, notFound(r.path)
	}
	if r.method != http.MethodGet {
		return 0, nil, methodNotAllowed(r.method, r.path)
	}
	types := make([]any, 0, len(dynamicWorkerTypes))
	for _, t := range dynamicWorkerTypes {
		types = append(types, copyDoc(t))
	}
	return http.StatusOK, map[string]any{"Id": "dynamicworkertypes", "WorkerTypes": types, "Links": map[string]any{}}, nil
}
