package octosim

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/newclient"
	"github.com/OctopusDeploy/go-octopusdeploy/v2/pkg/packages"
)

// zipOf is a zip archive holding one file of content.
func zipOf(t *testing.T, content []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	fw, err := w.Create("content.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts a multipart file to path and answers the raw response.
func (f *fixture) upload(path, fileName string, data []byte) rawResp {
	f.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", fileName)
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, f.base+path, &body)
	req.Header.Set("X-Octopus-ApiKey", testKey)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResp{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestPackageUploadOverwriteModes: a new package answers 201 with its
// SHA-1 and size, an existing one 409 / 200 (kept) / 200 (replaced)
// by overwrite mode; the file downloads back by ID.
func TestPackageUploadOverwriteModes(t *testing.T) {
	f := newFixture(t, Options{})
	v1, v2 := zipOf(t, []byte("one")), zipOf(t, []byte("two"))
	sum := func(b []byte) string { s := sha1.Sum(b); return hex.EncodeToString(s[:]) }
	steps := []struct {
		query  string
		data   []byte
		status int
		hash   []byte
	}{
		{"", v1, http.StatusCreated, v1},
		{"", v2, http.StatusConflict, nil},
		{"?overwriteMode=FailIfExists", v2, http.StatusConflict, nil},
		{"?overwriteMode=IgnoreIfExists", v2, http.StatusOK, v1},
		{"?overwriteMode=OverwriteExisting", v2, http.StatusOK, v2},
		{"?replace=true", v1, http.StatusOK, v1},
		{"?overwriteMode=Sometimes", v2, http.StatusBadRequest, nil},
	}
	for i, st := range steps {
		res := f.upload(sp1("packages/raw"+st.query), "Acme.Web.1.2.3.zip", st.data)
		if res.status != st.status {
			t.Fatalf("step %d (%s): status %d, want %d: %s", i, st.query, res.status, st.status, res.body)
		}
		if st.hash == nil {
			continue
		}
		m := res.json(t)
		if m["Id"] != "packages-Acme.Web.1.2.3" || m["PackageId"] != "Acme.Web" || m["Version"] != "1.2.3" ||
			m["FeedId"] != "feeds-builtin" || m["NuGetPackageId"] != "Acme.Web" || m["FileExtension"] != ".zip" {
			t.Errorf("step %d: package %v", i, m)
		}
		if m["Hash"] != sum(st.hash) || int(m["PackageSizeBytes"].(float64)) != len(st.hash) {
			t.Errorf("step %d: Hash %v size %v, want %s %d", i, m["Hash"], m["PackageSizeBytes"], sum(st.hash), len(st.hash))
		}
	}
	raw := f.raw(http.MethodGet, sp1("packages/packages-Acme.Web.1.2.3/raw"), testKey, nil)
	if raw.status != http.StatusOK || !bytes.Equal(raw.body, v1) {
		t.Errorf("raw download: %d, %d bytes", raw.status, len(raw.body))
	}
	if res := f.upload(sp1("packages/raw"), "no-version.zip", v1); res.status != http.StatusBadRequest {
		t.Errorf("file name without a version: %d", res.status)
	}
	if res := f.upload(sp1("packages/raw"), "Acme.1.0.0.exe", v1); res.status != http.StatusBadRequest {
		t.Errorf("unsupported format: %d", res.status)
	}
}

// TestPackageListVersionsAndStats: the package list filters, the built-in
// feed's versions and search, its statistics, delete.
func TestPackageListVersionsAndStats(t *testing.T) {
	f := newFixture(t, Options{})
	for _, name := range []string{"Acme.Web.1.0.0.zip", "Acme.Web.1.10.0.zip", "Acme.Web.1.2.0-beta.zip", "Acme.Db.2.0.0.tar.gz"} {
		if res := f.upload(sp1("packages/raw"), name, zipOf(t, []byte(name))); res.status != http.StatusCreated {
			t.Fatalf("%s: %d %s", name, res.status, res.body)
		}
	}
	ids := func(m map[string]any, field string) []string {
		var out []string
		for _, it := range m["Items"].([]any) {
			out = append(out, str(it.(map[string]any)[field]))
		}
		return out
	}
	cases := []struct {
		path, field string
		want        []string
	}{
		{"packages", "Id", []string{"packages-Acme.Db.2.0.0", "packages-Acme.Web.1.10.0", "packages-Acme.Web.1.2.0-beta", "packages-Acme.Web.1.0.0"}},
		{"packages?nuGetPackageId=acme.web&latest=true", "Version", []string{"1.10.0"}},
		{"packages?filter=db", "Id", []string{"packages-Acme.Db.2.0.0"}},
		{"feeds/feeds-builtin/packages/versions?packageId=Acme.Web", "Version", []string{"1.10.0", "1.0.0"}},
		{"feeds/feeds-builtin/packages/versions?packageId=Acme.Web&includePreRelease=true", "Version", []string{"1.10.0", "1.2.0-beta", "1.0.0"}},
		{"feeds/feeds-builtin/packages/search?term=acme", "LatestVersion", []string{"1.10.0", "2.0.0"}},
	}
	for _, c := range cases {
		if got := ids(f.get(sp1(c.path)), c.field); !equalStrings(got, c.want) {
			t.Errorf("%s: %v, want %v", c.path, got, c.want)
		}
	}
	if n := f.get("/api/feeds/stats")["TotalPackages"]; n != float64(4) {
		t.Errorf("TotalPackages %v", n)
	}
	if err := f.c.Packages.DeleteByID("packages-Acme.Db.2.0.0"); err != nil {
		t.Fatal(err)
	}
	_, err := f.c.Packages.GetByID("packages-Acme.Db.2.0.0")
	apiErr(t, err, http.StatusNotFound)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPackageDeltaUpload: go-octopusdeploy's delta upload gets the
// signature of the nearest stored version and uploads only the delta; the
// server rebuilds the file exactly.
func TestPackageDeltaUpload(t *testing.T) {
	f := newFixture(t, Options{})
	content := make([]byte, 256*1024)
	_, _ = rand.Read(content)
	first := zipOf(t, content)
	res, err := packages.UploadV2(f.c, "Spaces-1", "Big.1.0.0.zip", bytes.NewReader(first), packages.OverwriteModeOverwriteExisting, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.UploadInfo.DeltaBehaviour != packages.DeltaBehaviourNoPreviousFile || !res.CreatedNewFile {
		t.Errorf("first upload: %+v", res.UploadInfo)
	}
	second := append(zipOf(t, content), []byte("trailing bytes make a new file")...)
	res, err = packages.UploadV2(f.c, "Spaces-1", "Big.1.1.0.zip", bytes.NewReader(second), packages.OverwriteModeOverwriteExisting, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.UploadInfo.DeltaBehaviour != packages.DeltaBehaviourUploadedDeltaFile || res.UploadInfo.DeltaSize >= int64(len(second))/2 {
		t.Errorf("second upload: %+v", res.UploadInfo)
	}
	raw := f.raw(http.MethodGet, sp1("packages/packages-Big.1.1.0/raw"), testKey, nil)
	if !bytes.Equal(raw.body, second) {
		t.Errorf("rebuilt file differs: %d bytes, want %d", len(raw.body), len(second))
	}
	if r := f.raw(http.MethodGet, sp1("packages/Other/1.0.0/delta-signature"), testKey, nil); r.status != http.StatusNotFound {
		t.Errorf("signature without a previous version: %d", r.status)
	}
}

// TestBuildInformation: create, read back, duplicate by overwrite mode,
// shown on the package of the same ID and version.
func TestBuildInformation(t *testing.T) {
	f := newFixture(t, Options{})
	body := func(mode string) map[string]any {
		return map[string]any{"PackageId": "Acme.Web", "Version": "1.0.0", "OverwriteMode": mode,
			"OctopusBuildInformation": map[string]any{"BuildEnvironment": "GitHub", "BuildNumber": "7", "VcsType": "Git",
				"VcsRoot": "https://github.com/acme/web.git", "VcsCommitNumber": "abc123",
				"Commits": []any{map[string]any{"Id": "abc123", "Comment": "Fix"}}}}
	}
	created := f.post(sp1("build-information"), body(""))
	if created["Id"] != "BuildInformation-1" || created["VcsCommitUrl"] != "https://github.com/acme/web/commit/abc123" {
		t.Errorf("created %v", created)
	}
	commit := created["Commits"].([]any)[0].(map[string]any)
	if commit["LinkUrl"] != "https://github.com/acme/web/commit/abc123" || commit["Comment"] != "Fix" {
		t.Errorf("commit %v", commit)
	}
	got := f.get(sp1("build-information/BuildInformation-1"))
	if got["BuildNumber"] != "7" || got["PackageId"] != "Acme.Web" {
		t.Errorf("get %v", got)
	}
	_, err := newclient.Post[map[string]any](f.session(), sp1("build-information"), body(""))
	apiErr(t, err, http.StatusConflict)
	if again := f.post(sp1("build-information"), body("OverwriteExisting")); again["Id"] != "BuildInformation-1" {
		t.Errorf("overwrite made %v", again["Id"])
	}
	f.upload(sp1("packages/raw"), "Acme.Web.1.0.0.zip", zipOf(t, []byte("x")))
	pkg := f.get(sp1("packages/packages-Acme.Web.1.0.0"))
	if bi, _ := pkg["PackageVersionBuildInformation"].(map[string]any); bi == nil || bi["Id"] != "BuildInformation-1" {
		t.Errorf("package build information %v", pkg["PackageVersionBuildInformation"])
	}
	if list := f.get(sp1("build-information?packageId=Acme.Web")); list["TotalResults"] != float64(1) {
		t.Errorf("list %v", list["TotalResults"])
	}
}
