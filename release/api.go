package release

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/octobundle/octobundle/internal/octopus"
	"github.com/octobundle/octobundle/schema"
)

// api is the calls of one instance a promotion makes.
type api struct{ c *octopus.Client }

func apiOf(c *octopus.Client) api { return api{c: c} }

// path is the API path of the entity id of kind (its registry collection).
func (a api) path(kind, id string) string {
	return a.c.SpacePath(schema.MustLookup(kind).Collection+"/"+url.PathEscape(id), false)
}

// coll is the API path of kind's collection.
func (a api) coll(kind string) string {
	return a.c.SpacePath(schema.MustLookup(kind).Collection, false)
}

// byName finds the entity of kind named name in the list at path (the
// collection with partialName, or a sub-collection), nil when none.
func (a api) byName(ctx context.Context, path, name string, query url.Values) (map[string]any, error) {
	items, err := a.c.List(ctx, path, query)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if strings.EqualFold(str(it["Name"]), name) {
			return it, nil
		}
	}
	return nil, nil
}

// projectByName finds a project by name; not finding it is an error.
func (a api) projectByName(ctx context.Context, name string) (map[string]any, error) {
	p, err := a.byName(ctx, a.coll(schema.Project), name, url.Values{"partialName": {name}})
	if err != nil {
		return nil, fmt.Errorf("looking up project %q: %w", name, err)
	}
	if p == nil {
		return nil, fmt.Errorf("no project %q in space %q of %s", name, a.c.SpaceName, a.c.Server())
	}
	return p, nil
}

// release is version of project (GET projects/{id}/releases/{version}),
// nil when the project has no such release.
func (a api) release(ctx context.Context, project map[string]any, version string) (map[string]any, error) {
	rel, err := a.c.Get(ctx, a.path(schema.Project, str(project["Id"]))+"/releases/"+url.PathEscape(version))
	if octopus.IsStatus(err, http.StatusNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking up release %s: %w", version, err)
	}
	return rel, nil
}

// builtInPackage is the built-in feed's package id version (its ID,
// Hash, FileExtension …), nil when the feed lacks it.
func (a api) builtInPackage(ctx context.Context, id, version string) (map[string]any, error) {
	items, err := a.c.List(ctx, a.c.SpacePath("packages", false), url.Values{"nuGetPackageId": {id}})
	if err != nil {
		return nil, fmt.Errorf("listing %s in the built-in feed: %w", id, err)
	}
	for _, it := range items {
		if strings.EqualFold(str(it["PackageId"]), id) && strings.EqualFold(str(it["Version"]), version) {
			return it, nil
		}
	}
	return nil, nil
}

// feedHas reports whether the feed can serve id version: GET
// feeds/{id}/packages/versions with packageId and the exact version as
// the range.
func (a api) feedHas(ctx context.Context, feedID, id, version string) (bool, error) {
	q := url.Values{"packageId": {id}, "versionRange": {"[" + version + "]"}, "includePreRelease": {"true"}, "take": {"30"}}
	page, err := a.c.Get(ctx, a.path(schema.Feed, feedID)+"/packages/versions?"+q.Encode())
	if err != nil {
		return false, err
	}
	for _, it := range asSlice(page["Items"]) {
		if strings.EqualFold(str(asMap(it)["Version"]), version) {
			return true, nil
		}
	}
	return false, nil
}

// isBuiltIn reports whether a feed document is a built-in feed.
func isBuiltIn(feed map[string]any) bool { return strings.EqualFold(str(feed["FeedType"]), "BuiltIn") }

func str(v any) string {
	s, _ := v.(string)
	return s
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
