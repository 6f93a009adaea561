package octosim

import (
	"encoding/json"
	"strings"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/constants"
)

// rootLinks are the Links of a real root document (the client's own
// captured reply), with "/api/Spaces-1/" standing for the default space.
var rootLinks map[string]string

// spaceScopedRootLinks are root links the real root document shows without
// a space that modern servers serve per space; the space root document
// rewrites them to /api/{space}/….
var spaceScopedRootLinks = []string{"/api/feeds", "/api/teams", "/api/scopeduserroles", "/api/libraryvariablesets",
	"/api/lifecycles", "/api/certificates", "/api/channels", "/api/deployments", "/api/runbookProcesses", "/api/deploymentprocesses", "/api/tasks"}

func init() {
	var root struct{ Links map[string]string }
	if err := json.Unmarshal([]byte(constants.ApiReplyRoot), &root); err != nil {
		panic("octosim: cannot parse the client's root document: " + err.Error())
	}
	rootLinks = root.Links
	// Current servers offer more machine filters than the captured document.
	rootLinks["Machines"] = "/api/Spaces-1/machines{/id}" + machineQuery
	for _, ec := range emptyCollections {
		prefix := "/api/Spaces-1/"
		if ec.ServerLevel {
			prefix = "/api/"
		}
		rootLinks[ec.Link] = prefix + ec.Name + ec.Query
	}
	for _, sc := range storedCollections {
		if sc.Link == "" {
			continue
		}
		prefix := "/api/Spaces-1/"
		if sc.ServerLevel {
			prefix = "/api/"
		}
		rootLinks[sc.Link] = prefix + sc.Name + sc.Query
	}
	// Every collection the simulator serves gets a link if the captured
	// document lacks one.
	for _, c := range collOrder {
		found := false
		for _, v := range rootLinks {
			if strings.Contains(v, "/"+c.Name+"{") || strings.HasSuffix(v, "/"+c.Name) {
				found = true
				break
			}
		}
		if found {
			continue
		}
		prefix := "/api/Spaces-1/"
		if c.ServerLevel {
			prefix = "/api/"
		}
		rootLinks[linkName(c.Name)] = prefix + c.Name + "{/id}{?skip,take,ids,partialName}"
	}
}

// rootDocument is GET /api/.
func (s *Server) rootDocument() map[string]any {
	def := "Spaces-1"
	if sp := s.st.defaultSpace(); sp != nil {
		def = sp.id()
	}
	links := map[string]any{}
	for k, v := range rootLinks {
		links[k] = strings.Replace(v, "/api/Spaces-1/", "/api/"+def+"/", 1)
	}
	links["Self"] = "/api"
	return map[string]any{
		"Application":          "Octopus Deploy",
		"Version":              s.version,
		"ApiVersion":           "3.0.0",
		"InstallationId":       s.installationID,
		"IsEarlyAccessProgram": false,
		"HasLongTermSupport":   false,
		"Links":                links,
	}
}

// spaceRoot is GET /api/{spaceId}: the space's links.
func (s *Server) spaceRoot(sp *space) map[string]any {
	id := sp.id()
	links := map[string]any{"Self": "/api/" + id, "SpaceHome": "/api/" + id}
	for k, v := range rootLinks {
		switch {
		case strings.HasPrefix(v, "/api/Spaces-1/"):
			links[k] = "/api/" + id + "/" + strings.TrimPrefix(v, "/api/Spaces-1/")
		default:
			for _, p := range spaceScopedRootLinks {
				if strings.HasPrefix(v, p+"{") || v == p {
					links[k] = "/api/" + id + "/" + strings.TrimPrefix(v, "/api/")
				}
			}
		}
	}
	return map[string]any{"Links": links}
}
