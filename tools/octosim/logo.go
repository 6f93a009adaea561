package octosim

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// A project's logo: GET /api/{space}/projects/{id}/logo answers the image
// (Links.Logo); POST (OctopusClients' ProjectRepository.SetLogo posts a
// FileUpload) or PUT of a multipart/form-data body with one file sets it.
// The image is stored as given, with the content type of its part (or,
// if the part has none, the type its bytes sniff as).
//
// Knowingly different from a real server: a project without an uploaded
// logo answers 404 here, where a real server answers a generated default
// image; so "no logo" means no file in a bundle. Logos live in the
// "projectlogos" collection of a seed or Dump: {ProjectId, ContentType,
// Data (base64)}.

const seedProjectLogos = "projectlogos"

func init() {
	registerSubResource("projects", "logo", serveProjectLogo)
	registerBinary("projects/*/logo")
	registerSeedCollection(seedProjectLogos, "projects", "ProjectId")
}

func serveProjectLogo(s *Server, r *request, sp *space, project map[string]any, segs []string) (int, any, error) {
	if len(segs) != 1 {
		return 0, nil, notFound(r.path)
	}
	pid := str(project["Id"])
	switch r.method {
	case http.MethodGet:
		logo := sp.coll(seedProjectLogos).get(pid)
		if logo == nil {
			return 0, nil, notFound(r.path)
		}
		data, err := base64.StdEncoding.DecodeString(str(logo["Data"]))
		if err != nil {
			return 0, nil, errorf("stored logo of %s: %v", pid, err)
		}
		return http.StatusOK, binaryAnswer{data: data, contentType: str(logo["ContentType"])}, nil
	case http.MethodPost, http.MethodPut:
		data, ctype, err := uploadedFile(r)
		if err != nil {
			return 0, nil, err
		}
		sp.coll(seedProjectLogos).put(pid, map[string]any{"Id": pid, "ProjectId": pid, "ContentType": ctype,
			"Data": base64.StdEncoding.EncodeToString(data)})
		return http.StatusOK, nil, nil
	}
	return 0, nil, methodNotAllowed(r.method, r.path)
}

// uploadedFile reads the one file of a multipart/form-data upload.
func uploadedFile(r *request) ([]byte, string, error) {
	_, data, ctype, err := uploadedPart(r, 8<<20)
	if err != nil {
		return nil, "", err
	}
	if ctype == "" || ctype == "application/octet-stream" {
		ctype = http.DetectContentType(data)
	}
	return data, ctype, nil
}

// uploadedPart reads the first file of a multipart/form-data upload, at
// most limit bytes: its file name, content and Content-Type.
func uploadedPart(r *request, limit int64) (string, []byte, string, error) {
	mt, params, err := mime.ParseMediaType(r.contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return "", nil, "", badRequest("Please upload the file as multipart/form-data.")
	}
	mr := multipart.NewReader(bytes.NewReader(r.upload), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return "", nil, "", badRequest("The upload holds no file.")
		}
		if err != nil {
			return "", nil, "", badRequestf("The upload could not be read: %v", err)
		}
		if part.FileName() == "" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, limit))
		if err != nil {
			return "", nil, "", badRequestf("The upload could not be read: %v", err)
		}
		if len(data) == 0 {
			return "", nil, "", badRequest("The uploaded file is empty.")
		}
		return part.FileName(), data, part.Header.Get("Content-Type"), nil
	}
}
