package schema

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Pair says which values of one field the server accepts with each value of
// another: a project trigger's action must suit its filter (a deployment
// target trigger can only deploy automatically, a feed trigger can only
// create a release). The server refuses a document whose two objects are
// missing, whose Field holds a value it does not know, or whose With holds
// a value Field does not allow; PairErrors gives its messages, which the
// simulator answers and apply's plan predicts.
type Pair struct {
	// Field and With are paths as in Ref.Path, each one object and its
	// field ("Filter/FilterType", "Action/ActionType").
	Field, With string
	// Noun names the entity in messages ("trigger").
	Noun string
	// Allowed maps every value of Field the server knows to the values of
	// With it accepts with it.
	Allowed map[string][]string
}

// PairErrors returns the server's refusals of doc by the kind's Pairs.
func (k *Kind) PairErrors(doc map[string]any) []string {
	var errs []string
	for _, p := range k.Pairs {
		fo, ff, _ := cutLast(p.Field)
		wo, wf, _ := cutLast(p.With)
		fobj, _ := At(doc, strings.Split(fo, "/")).(map[string]any)
		wobj, _ := At(doc, strings.Split(wo, "/")).(map[string]any)
		if fobj == nil || wobj == nil {
			errs = append(errs, fmt.Sprintf("A %s needs a %s and %s %s.", p.Noun, fo, article(wo), wo))
			continue
		}
		fv, _ := fobj[ff].(string)
		wv, _ := wobj[wf].(string)
		allowed, ok := p.Allowed[fv]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("%s %q is not a %s %s.", dotted(p.Field), fv, p.Noun, words(ff)))
		case !slices.Contains(allowed, wv):
			errs = append(errs, fmt.Sprintf("%s %q cannot be used with a %s %s.", dotted(p.With), wv, fv, p.Noun))
		}
	}
	return errs
}

// dotted renders a path as the server names fields: Filter.FilterType.
func dotted(path string) string { return strings.ReplaceAll(path, "/", ".") }

// words splits a field name into lower-case words: "FilterType" → "filter type".
func words(field string) string {
	var b strings.Builder
	for i, r := range field {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// article is "a" or "an" for word.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}

// triggerActions are the action types each project trigger filter type
// accepts (Octopus.Client's TriggerFilterType and ActionType). A once-daily
// schedule also takes AutoDeploy: go-octopusdeploy's e2e suite, written
// against real servers, saves one (project_trigger_test.go).
var triggerActions = map[string][]string{
	"MachineFilter":           {"AutoDeploy"},
	"FeedFilter":              {"CreateRelease"},
	"ArcFeedFilter":           {"CreateRelease"},
	"GitFilter":               {"CreateRelease"},
	"OnceDailySchedule":       {"AutoDeploy", "DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"ContinuousDailySchedule": {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"DaysPerMonthSchedule":    {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"DaysPerWeekSchedule":     {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"DailySchedule":           {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"CronExpressionSchedule":  {"DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
	"WebhookFilter":           {"AutoDeploy", "CreateRelease", "DeployLatestRelease", "DeployNewRelease", "RunRunbook"},
}
