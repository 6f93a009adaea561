package octosim

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"strings"
)

// Kubernetes monitors (the Kubernetes agent's live status component,
// go-octopusdeploy's kubernetesmonitors package), from 2025.3 (see
// serverFeatures; 404 before):
//
//	POST   /api/{space}/observability/kubernetes-monitors {InstallationId, MachineId, PreserveAuthenticationToken?}
//	       → {Resource: {Id, SpaceId, InstallationId, MachineId}, AuthenticationToken, CertificateThumbprint}
//	GET    /api/{space}/observability/kubernetes-monitors/{id} → {Resource: {…}}
//	DELETE /api/{space}/observability/kubernetes-monitors/{id}
//
// A monitor belongs to a Kubernetes agent deployment target of the space
// (Endpoint.CommunicationStyle "KubernetesTentacle"), one per target:
// registering again re-registers the target's monitor under its ID with a
// new authentication token, unless PreserveAuthenticationToken keeps the
// old one. The token is a secret answered only by the registration.

// kubernetesMonitorsColl is the space collection of monitors.
const kubernetesMonitorsColl = "kubernetesmonitors"

func init() { registerSpaceRoute("observability", (*Server).serveObservability) }

// serveObservability answers /api/{space}/observability/….
func (s *Server) serveObservability(r *request, sp *space, segs []string) (int, any, error) {
	if !s.hasFeature("kubernetesMonitors") || len(segs) == 0 || !strings.EqualFold(segs[0], "kubernetes-monitors") || len(segs) > 2 {
		return 0, nil, notFound(r.path)
	}
	monitors := sp.coll(kubernetesMonitorsColl)
	if len(segs) == 1 {
		if r.method != http.MethodPost {
			return 0, nil, methodNotAllowed(r.method, r.path)
		}
		return s.registerKubernetesMonitor(r, sp)
	}
	m := monitors.get(segs[1])
	if m == nil {
		return 0, nil, notFound(r.path)
	}
	switch r.method {
	case http.MethodGet:
		return http.StatusOK, map[string]any{"Resource": renderKubernetesMonitor(m)}, nil
	case http.MethodDelete:
		monitors.remove(str(m["Id"]))
		return http.StatusOK, nil, nil
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// registerKubernetesMonitor is the POST.
func (s *Server) registerKubernetesMonitor(r *request, sp *space) (int, any, error) {
	installation := str(fieldFold(r.body, "InstallationId"))
	machineID := str(fieldFold(r.body, "MachineId"))
	var errs []string
	if installation == "" {
		errs = append(errs, "Please provide the monitor's installation ID.")
	}
	machine := s.st.collFor(sp, lookupColl("machines")).get(machineID)
	switch {
	case machineID == "":
		errs = append(errs, "Please provide the deployment target the monitor belongs to.")
	case machine == nil:
		errs = append(errs, "The deployment target '"+machineID+"' does not exist.")
	default:
		style, _ := fieldAt(machine, "Endpoint/CommunicationStyle")
		if !strings.EqualFold(str(style), "KubernetesTentacle") {
			errs = append(errs, "Only Kubernetes agent deployment targets can have a Kubernetes monitor.")
		}
	}
	if len(errs) > 0 {
		return 0, nil, badRequest(errs...)
	}
	monitors := sp.coll(kubernetesMonitorsColl)
	var doc map[string]any
	for _, m := range monitors.where("MachineId", str(machine["Id"])) {
		doc = copyDoc(m)
	}
	preserve, _ := fieldFold(r.body, "PreserveAuthenticationToken").(bool)
	if doc == nil {
		doc = map[string]any{"Id": s.st.nextID("KubernetesMonitors"), "SpaceId": sp.id(), "MachineId": machine["Id"]}
		preserve = false
	}
	doc["InstallationId"] = installation
	if !preserve {
		tok := randomAlnum(40, true)
		doc["AuthenticationToken"] = sensitive(&tok)
	}
	monitors.put(str(doc["Id"]), doc)
	out := map[string]any{"Resource": renderKubernetesMonitor(doc), "CertificateThumbprint": s.certificateThumbprint()}
	if !preserve {
		out["AuthenticationToken"] = *storedSecret(doc["AuthenticationToken"])
	}
	return http.StatusOK, out, nil
}

// renderKubernetesMonitor is a monitor without its token.
func renderKubernetesMonitor(m map[string]any) map[string]any {
	return map[string]any{"Id": m["Id"], "SpaceId": m["SpaceId"], "InstallationId": m["InstallationId"], "MachineId": m["MachineId"]}
}

// certificateThumbprint is the thumbprint of the server's communications
// certificate, stable for the instance (derived from its installation ID).
func (s *Server) certificateThumbprint() string {
	sum := sha1.Sum([]byte(s.installationID))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
