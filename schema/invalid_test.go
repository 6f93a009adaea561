package schema

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// sha is a digest that matches the schemas' pattern.
var sha = "sha256:" + strings.Repeat("a", 64)

// manifestDoc and planDoc are valid documents with "%s" where a case puts
// its members.
var (
	manifestDoc = `{"Format":"octobundle/v1","ToolVersion":"dev","Source":{"Server":"https://octo.example.com","ServerVersion":"2024.1.1","Space":"Default"},"ExportedAt":"2024-01-02T03:04:05Z","Digest":"` + sha + `"%s}`
	planDoc     = `{"format":"octobundle-plan/v1","bundleDigest":"` + sha + `","destination":{"server":"a","space":"b","serverVersion":"c","fingerprint":"` + sha + `"},"changes":[],"cleanup":[]%s}`
)

// invalidCases are hand-made invalid documents, one or more failures each,
// with the JSON pointers every failure is reported at: the same places as
// jsonschema/v5 reported (checked by a differential test against v5 when
// Validate moved to v6; v5 URL-escaped the tokens).
var invalidCases = []struct {
	name, schema, doc string
	want              []string
}{
	{"id", "environment.schema.json", `{"Name":"X","Id":"Environments-1"}`, []string{"/Id"}},
	{"no name", "environment.schema.json", `{"Description":"x"}`, []string{""}},
	{"name type", "environment.schema.json", `{"Name":3}`, []string{"/Name"}},
	{"name empty", "environment.schema.json", `{"Name":""}`, []string{"/Name"}},
	{"not an object", "environment.schema.json", `["Production"]`, []string{""}},
	{"several", "environment.schema.json", `{"Name":7,"Id":"x","SpaceId":"Spaces-1"}`, []string{"/Id", "/Name", "/SpaceId"}},
	{"phase no name", "lifecycle.schema.json", `{"Name":"Default","Phases":[{"Name":"Dev"},{"OptionalDeploymentTargets":[]}]}`, []string{"/Phases/1"}},
	{"phase targets", "lifecycle.schema.json", `{"Name":"Default","Phases":[{"Name":"Dev","OptionalDeploymentTargets":"Dev"}]}`, []string{"/Phases/0/OptionalDeploymentTargets"}},
	{"phase target type", "lifecycle.schema.json", `{"Name":"Default","Phases":[{"Name":"Dev","OptionalDeploymentTargets":["Dev",3]}]}`, []string{"/Phases/0/OptionalDeploymentTargets/1"}},
	{"project lifecycle", "project.schema.json", `{"Name":"OctoFX","LifecycleId":7}`, []string{"/LifecycleId"}},
	{"process action id", "deployment-process.schema.json", `{"Steps":[{"Name":"Deploy","Actions":[{"Name":"A","Id":"x"}]}]}`, []string{"/Steps/0/Actions/0/Id"}},
	{"process no actions", "deployment-process.schema.json", `{"Steps":[{"Name":"Deploy"}]}`, []string{"/Steps/0"}},
	{"sensitive value", "project-variables.schema.json", `{"Variables":[{"Name":"A","Value":"1"},{"Name":"S","Value":"secret","IsSensitive":true}]}`, []string{"/Variables/1/Value"}},
	{"scope", "project-variables.schema.json", `{"Variables":[{"Name":"A","Scope":{"Environment":"Dev"}}]}`, []string{"/Variables/0/Scope/Environment"}},
	{"scope item", "library-variables.schema.json", `{"Variables":[{"Name":"A","Scope":{"Environment":["Dev",{}]}}]}`, []string{"/Variables/0/Scope/Environment/1"}},
	{"escaped keys", "tenant.schema.json", `{"Name":"Acme","ProjectEnvironments":{"Customer Portal":"x","a/b~c":1,"ok":["Dev"]}}`, []string{"/ProjectEnvironments/Customer Portal", "/ProjectEnvironments/a~1b~0c"}},
	{"tenant variables legacy", "tenant-variables.schema.json", `{"ProjectVariables":{"OctoFX":{"Variables":{"Dev":{"Url":"x"}}}}}`, []string{"/ProjectVariables"}},
	{"scoped roles object", "scoped-user-role.schema.json", `{"UserRoleId":"x"}`, []string{""}},
	{"scoped role id", "scoped-user-role.schema.json", `[{"UserRoleId":"x"},{"UserRoleId":"y","Id":"ScopedUserRoles-1"}]`, []string{"/1/Id"}},
	{"manifest credentials", ManifestSchema, strings.Replace(fmt.Sprintf(manifestDoc, `,"Counts":{}`), "https://", "https://u:p@", 1), []string{"/Source/Server"}},
	{"manifest format", ManifestSchema, strings.Replace(fmt.Sprintf(manifestDoc, `,"Counts":{}`), "octobundle/v1", "octobundle/v9", 1), []string{"/Format"}},
	{"manifest date", ManifestSchema, strings.Replace(fmt.Sprintf(manifestDoc, `,"Counts":{}`), "2024-01-02", "2024-13-45", 1), []string{"/ExportedAt"}},
	{"manifest no counts", ManifestSchema, fmt.Sprintf(manifestDoc, ``), []string{""}},
	{"manifest count", ManifestSchema, fmt.Sprintf(manifestDoc, `,"Counts":{"Environment":0}`), []string{"/Counts/Environment"}},
	{"manifest count name", ManifestSchema, fmt.Sprintf(manifestDoc, `,"Counts":{"environment":2}`), []string{"/Counts/environment"}},
	{"manifest count names", ManifestSchema, fmt.Sprintf(manifestDoc, `,"Counts":{"a":1,"b":2,"Environment":2},"Projects":["x","x"],"Rules":[{"Name":"r","Digest":"md5"}]`), []string{"/Counts/a", "/Counts/b", "/Projects", "/Rules/0/Digest"}},
	{"plan summary name", "plan.schema.json", fmt.Sprintf(planDoc, `,"summary":{"create":1,"Id":2}`), []string{"/summary/Id"}},
	{"plan summary count", "plan.schema.json", fmt.Sprintf(planDoc, `,"summary":{"create":-1}`), []string{"/summary/create"}},
	{"plan destination", "plan.schema.json", fmt.Sprintf(planDoc, `,"summary":{},"extra":1`), []string{""}},
}

// TestInvalidDocuments: each hand-made invalid document is refused at the
// pointers of its failures, and no others.
func TestInvalidDocuments(t *testing.T) {
	for _, c := range invalidCases {
		t.Run(c.name, func(t *testing.T) {
			err := Validate(c.schema, decodeDoc(t, c.doc))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a validation error", err)
			}
			var got []string
			for _, v := range ve.Violations {
				got = append(got, v.Pointer)
			}
			sort.Strings(got)
			if got = slices.Compact(got); !slices.Equal(got, c.want) {
				t.Errorf("refused at %q, want %q (%v)", got, c.want, err)
			}
		})
	}
}
