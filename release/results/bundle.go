package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/octobundle/octobundle/bundles"
	"github.com/octobundle/octobundle/schema"
)

// kind is the registry kind of a results bundle's files.
var kind = schema.MustLookup(schema.ReleaseResult)

// Bundle makes the results bundle of rels, read from source (the
// destination instance and space): manifest Kind bundles.KindResults,
// one file results/{project}/{version}.json per release, sealed, ready to
// write, sign and verify like every bundle.
func Bundle(source bundles.Source, toolVersion string, rels []Release) (*bundles.Bundle, error) {
	projects := map[string]bool{}
	var list []string
	for _, r := range rels {
		if !projects[r.Project] {
			projects[r.Project] = true
			list = append(list, r.Project)
		}
	}
	b := bundles.New(bundles.Manifest{
		Format: bundles.Format, Kind: bundles.KindResults, ToolVersion: toolVersion, Source: source,
		Projects: list, ExportedAt: time.Now().UTC().Truncate(time.Second),
	})
	for _, r := range rels {
		doc, err := toDoc(r)
		if err != nil {
			return nil, err
		}
		if _, err := b.PutEntity(kind, []string{r.Project, r.Name}, doc); err != nil {
			return nil, fmt.Errorf("release %s: %w", r.Name, err)
		}
	}
	if err := b.Seal(); err != nil {
		return nil, err
	}
	return b, nil
}

// FromBundle reads the releases of a results bundle (already read and
// verified); a bundle of another kind is an error.
func FromBundle(b *bundles.Bundle) ([]Release, error) {
	if b.Manifest.Kind != bundles.KindResults {
		what := b.Manifest.Kind
		if what == "" {
			what = "configuration"
		}
		return nil, fmt.Errorf("not a results bundle (it holds %s); make one with octobundle release report", what)
	}
	var out []Release
	for e := range b.All() {
		if e.Kind != kind {
			return nil, fmt.Errorf("%s: not a release result", e.Path)
		}
		data, err := json.Marshal(e.Doc)
		if err != nil {
			return nil, err
		}
		var r Release
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Path, err)
		}
		if r.Instance == "" {
			return nil, fmt.Errorf("%s: names no instance", e.Path)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("the results bundle holds no release")
	}
	return out, nil
}

// toDoc is r as a bundle document (a generic JSON value).
func toDoc(r Release) (map[string]any, error) {
	if r.Deployments == nil {
		r.Deployments = []Deployment{}
	}
	if r.Environments == nil {
		r.Environments = []string{}
	}
	data, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}
