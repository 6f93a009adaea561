package apply

import (
	"strings"
	"testing"

	"github.com/octobundle/octobundle/apply/plans"
	"github.com/octobundle/octobundle/apply/render"
	"github.com/octobundle/octobundle/schema"
	"github.com/octobundle/octobundle/tools/octosim"
)

// TestWriteOnlyFields: a certificate octobundle created on the destination
// (issue 17 item 7) plans as unchanged on every later sync: the server
// never returns its write-only fields (Password, CertificateData; the
// registry's Kind.Sensitive), so they are no difference, not "left alone
// … 1 field differs: Password" forever. A replay writes nothing.
func TestWriteOnlyFields(t *testing.T) {
	src := startSim(t, "source.json", octosim.Options{})
	b := fitBundle(t, exportBundle(t, src, false))
	r := newRecurring(t, b)
	for i := range 2 {
		p := r.replay(b, Options{})
		var buf strings.Builder
		if err := render.Plan(&buf, p); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.Contains(line, "left alone") && (strings.Contains(line, "Password") || strings.Contains(line, "CertificateData")) {
				t.Errorf("replay %d: %s", i+1, line)
			}
		}
		created := false
		for _, ch := range p.Changes {
			if ch.Kind != schema.Certificate {
				continue
			}
			t.Logf("replay %d: %s: %s %v", i+1, ch.Label(), ch.Action, ch.Diff)
			created = created || ch.Action == plans.OpNoOp
			for _, d := range ch.Diff {
				if strings.Contains(d.Path, "Password") || strings.Contains(d.Path, "CertificateData") {
					t.Errorf("replay %d: %s: %s differs", i+1, ch.Label(), d.Path)
				}
			}
		}
		if !created {
			t.Error("no certificate of the bundle is unchanged on the destination")
		}
	}
}
