package release

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"aead.dev/minisign"
	"github.com/octobundle/octobundle/sign"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestRelease runs make reproducible's script with a signing key: the
// release for this platform built twice, from two copies of the source,
// the second with an empty build cache. It proves that the two builds are
// byte-identical (the script fails otherwise), that each SBOM is valid
// CycloneDX 1.6 JSON naming every module in its binary with the version
// the binary was built with, that SHA256SUMS holds the right hashes, and
// that its signature verifies (with aead.dev/minisign, and with the
// minisign CLI when it is installed).
//
// A build with an empty cache takes minutes, so the test runs when
// OCTOBUNDLE_RELEASE_TEST=1 (make reproducible sets it; CI runs that).
func TestRelease(t *testing.T) {
	if os.Getenv("OCTOBUNDLE_RELEASE_TEST") != "1" {
		t.Skip("builds the release twice, one with an empty build cache: make reproducible runs it (OCTOBUNDLE_RELEASE_TEST=1)")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "release")
	const password = "correct horse battery staple"
	if _, err := sign.WriteKeyPair(key, password, sign.Interactive); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(dir, "password.txt")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "dist")
	const version = "v1.2.3-test"
	// Another platform than this one: the SBOM must describe the target.
	goos, goarch := "windows", "amd64"
	if runtime.GOOS == "windows" {
		goos = "linux"
	}
	platform := goos + "/" + goarch
	cmd := exec.Command("./reproducible.sh")
	cmd.Env = append(os.Environ(), "VERSION="+version, "PLATFORMS="+platform, "OUT="+out,
		"SIGN_KEY="+key+".key", "SIGN_PASSWORD_FILE="+pwFile, "SOURCE_DATE_EPOCH=1700000000")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("reproducible.sh: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "are byte-identical") {
		t.Fatalf("reproducible.sh did not report identical builds:\n%s", stderr.String())
	}
	t.Log(strings.TrimSpace(stderr.String()))
	if strings.Contains(stderr.String(), password) {
		t.Errorf("the key's password reached the output")
	}

	// SHA256SUMS: every binary and SBOM, with its hash.
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	ext := ""
	if goos == "windows" {
		ext = ".exe"
	}
	name := "octobundle-" + version + "-" + goos + "-" + goarch
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		hash, file, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q is not HASH  FILE", line)
		}
		data, err := os.ReadFile(filepath.Join(out, file))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != hash {
			t.Errorf("SHA256SUMS: %s has the wrong hash", file)
		}
		listed[file] = true
	}
	// octosim, which octobundle demo runs from beside octobundle, too.
	simName := "octosim-" + version + "-" + goos + "-" + goarch
	for _, f := range []string{name + ext, name + ".cdx.json", simName + ext, simName + ".cdx.json"} {
		if !listed[f] {
			t.Errorf("SHA256SUMS does not list %s:\n%s", f, sums)
		}
	}

	// The signature, as a change board checks it.
	pub, err := minisign.PublicKeyFromFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile(filepath.Join(out, "SHA256SUMS.minisig"))
	if err != nil {
		t.Fatal(err)
	}
	if !minisign.Verify(pub, sums, sig) {
		t.Errorf("SHA256SUMS.minisig does not verify")
	}
	if !minisign.Verify(pub, append(sums, '\n'), sig) {
		t.Logf("a changed SHA256SUMS fails, as it should")
	} else {
		t.Errorf("the signature verifies a changed SHA256SUMS too")
	}
	if !strings.Contains(string(sig), "trusted comment: octobundle "+version+" SHA256SUMS timestamp:1700000000") {
		t.Errorf("the trusted comment does not name the release and its time:\n%s", sig)
	}
	if _, err := exec.LookPath("minisign"); err == nil {
		if b, err := exec.Command("minisign", "-Vm", filepath.Join(out, "SHA256SUMS"), "-p", key+".pub").CombinedOutput(); err != nil {
			t.Errorf("minisign -Vm SHA256SUMS: %v\n%s", err, b)
		}
	} else {
		t.Log("minisign CLI not installed: checked with aead.dev/minisign only")
	}

	checkSBOM(t, filepath.Join(out, name+".cdx.json"), filepath.Join(out, name+ext), version, 10, "github.com/urfave/cli/v2")
	checkSBOM(t, filepath.Join(out, simName+".cdx.json"), filepath.Join(out, simName+ext), version, 3, "github.com/OctopusDeploy/go-octodiff")
}

// checkSBOM checks the SBOM file against the CycloneDX 1.6 JSON schema
// and against the build information of the binary it describes, which
// links at least minDeps modules, module among them.
func checkSBOM(t *testing.T, file, binary, version string, minDeps int, module string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	schema := cycloneDXSchema(t)
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s is not JSON: %v", file, err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Errorf("%s is not valid CycloneDX 1.6: %v", file, err)
	}
	var bom struct {
		BOMFormat    string `json:"bomFormat"`
		SpecVersion  string `json:"specVersion"`
		SerialNumber string `json:"serialNumber"`
		Metadata     struct {
			Timestamp string `json:"timestamp"`
			Component struct {
				Name, Version, Purl string
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Name, Version, Purl string
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &bom); err != nil {
		t.Fatal(err)
	}
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.6" {
		t.Errorf("bomFormat %q specVersion %q, want CycloneDX 1.6", bom.BOMFormat, bom.SpecVersion)
	}
	if bom.Metadata.Component.Name != "github.com/octobundle/octobundle" || bom.Metadata.Component.Version != version {
		t.Errorf("the SBOM describes %s %s, want github.com/octobundle/octobundle %s", bom.Metadata.Component.Name, bom.Metadata.Component.Version, version)
	}
	var goos, goarch string
	for _, s := range info.Settings {
		switch s.Key {
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	if want := "goarch=" + goarch + "&goos=" + goos + "&"; !strings.Contains(bom.Metadata.Component.Purl, want) {
		t.Errorf("the SBOM's package URL %s does not name the binary's platform (%s)", bom.Metadata.Component.Purl, want)
	}
	if bom.Metadata.Timestamp != "2023-11-14T22:13:20Z" {
		t.Errorf("timestamp %q, want SOURCE_DATE_EPOCH's 2023-11-14T22:13:20Z", bom.Metadata.Timestamp)
	}
	if !strings.HasPrefix(bom.SerialNumber, "urn:uuid:") {
		t.Errorf("serial number %q", bom.SerialNumber)
	}
	inSBOM := map[string]string{}
	for _, c := range bom.Components {
		inSBOM[c.Name] = c.Version
	}
	if len(info.Deps) < minDeps {
		t.Fatalf("the binary names only %d modules", len(info.Deps))
	}
	for _, m := range info.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		if v, ok := inSBOM[m.Path]; !ok {
			t.Errorf("the SBOM does not name module %s", m.Path)
		} else if v != m.Version {
			t.Errorf("the SBOM names %s %s, the binary holds %s", m.Path, v, m.Version)
		}
	}
	if v := inSBOM[module]; v == "" {
		t.Errorf("the SBOM does not name %s", module)
	}
}

// cycloneDXSchema compiles the CycloneDX 1.6 JSON schema from the
// cyclonedx-go module (in the module cache with the tool that writes the
// SBOMs).
func cycloneDXSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	b, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/CycloneDX/cyclonedx-go: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(b)), "schema")
	c := jsonschema.NewCompiler()
	for url, file := range map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":  "bom-1.6.schema.json",
		"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schemax.json",
	} {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	s, err := c.Compile("http://cyclonedx.org/schema/bom-1.6.schema.json")
	if err != nil {
		t.Fatalf("compiling the CycloneDX schema: %v", err)
	}
	return s
}
