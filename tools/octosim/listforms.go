package octosim

import (
	"cmp"
	"slices"
	"strings"
)

// listForm is how a real Octopus Server lists one collection, where that
// differs from the generic rule (a paged list that honours ids, a bare
// /all array, both in insertion order). docs/simulator.md, "List forms",
// gives the sources; in short: the server's API description (2021.2
// swagger, testdata/swagger/2021.2.tsv) and the API reference generated
// from a 2026 server's swagger (OctopusDeploy/docs,
// src/pages/docs/api/_generated/*.md, published 2026-08-11).
type listForm struct {
	// NoPaged: GET /{coll} is no route of the server (404).
	NoPaged bool
	// NoAll: GET /{coll}/all is no route of the server; "all" is read as
	// an ID (404).
	NoAll bool
	// PagedIgnoresIDs: the paged list takes no ids parameter; a request
	// that sends one gets the unfiltered list, as from a server that does
	// not bind it.
	PagedIgnoresIDs bool
	// Order is the field both forms sort by, case-insensitively, ties by
	// ID: "Id" or "Name"; "" keeps insertion order.
	Order string
}

// listForms: the list forms of a project's documents and of the kinds
// read with them.
//
//   - deploymentprocesses: "Lists all the deployment processes in the
//     supplied Octopus Deploy Space, sorted by Id", paged (skip, take 30 by
//     default, ids); no /all route (2021.2 and 2026 descriptions).
//   - runbookProcesses: "Lists all the Runbook Processes in the supplied
//     Octopus Deploy Space, sorted by Id", paged with skip and take only
//     (both descriptions list no ids, although the root document's
//     template reads {?skip,take,ids}); no /all route.
//   - variables: only /variables/all{?ids}, a bare array of variable sets
//     ("Lists all the Variable Sets in the supplied Space"); neither
//     description has a paged GET /variables.
//   - projects, channels, runbooks: /all and the paged list "sorted
//     alphabetically by name" (2021.2 descriptions of projects/all,
//     channels/all, runbooks/all and the paged lists).
var listForms = map[string]listForm{
	"deploymentprocesses": {NoAll: true, Order: "Id"},
	"runbookProcesses":    {NoAll: true, PagedIgnoresIDs: true, Order: "Id"},
	"variables":           {NoPaged: true, Order: "Id"},
	"projects":            {Order: "Name"},
	"channels":            {Order: "Name"},
	"runbooks":            {Order: "Name"},
}

// listFormOf returns the list form of a collection (the zero form when it
// follows the generic rule).
func listFormOf(spec *collSpec) listForm {
	if spec == nil {
		return listForm{}
	}
	return listForms[spec.Name]
}

// requestIDs returns the request's ids as a set of folded IDs (every ids
// parameter, each a comma-separated list, as a URI template expands an
// array), or nil when the request filters on none.
func requestIDs(r *request) map[string]bool {
	var ids map[string]bool
	for k, vals := range r.query {
		if !strings.EqualFold(k, "ids") {
			continue
		}
		for _, v := range vals {
			for _, id := range strings.Split(v, ",") {
				if id = strings.TrimSpace(id); id != "" {
					if ids == nil {
						ids = map[string]bool{}
					}
					ids[foldKey(id)] = true
				}
			}
		}
	}
	return ids
}

// byIDs returns the documents of c with the given (folded) IDs, in
// insertion order: one lookup per ID, so a request for a few IDs costs
// the same in a space of ten projects as in one of ten thousand. IDs that
// name no document are left out, as a real server's "Id IN (…)" query
// leaves them.
func byIDs(c *coll, ids map[string]bool) []map[string]any {
	if c == nil {
		return nil
	}
	var out []map[string]any
	for id := range ids {
		if d := c.get(id); d != nil {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int {
		return cmp.Compare(c.seq[str(a["Id"])], c.seq[str(b["Id"])])
	})
	return out
}

// sortForList puts items in the order a real server lists them by field
// ("Id" or "Name"): case-insensitively, as SQL Server's default collation
// compares, ties by ID, then by the order given (orderCompare with each
// item's position as its sequence). Keys are computed once, so sorting n
// items costs n log n comparisons of precomputed strings.
func sortForList(items []map[string]any, field string) {
	if field == "" || len(items) < 2 {
		return
	}
	type keyed struct {
		key, id string
		seq     uint64
		d       map[string]any
	}
	ks := make([]keyed, len(items))
	for i, d := range items {
		ks[i] = keyed{key: orderKey(d, field), id: str(d["Id"]), seq: uint64(i), d: d}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		return orderCompare(a.key, a.id, a.seq, b.key, b.id, b.seq)
	})
	for i, k := range ks {
		items[i] = k.d
	}
}

// orderKey is what a list sorted by field compares first: the field's
// value in lower case.
func orderKey(d map[string]any, field string) string {
	return strings.ToLower(str(d[field]))
}

// orderCompare orders two documents of a list sorted by a field, given
// their orderKeys, IDs and sequence numbers (insertion order): by key,
// ties by ID case-insensitively, then by sequence.
func orderCompare(akey, aid string, aseq uint64, bkey, bid string, bseq uint64) int {
	if c := strings.Compare(akey, bkey); c != 0 {
		return c
	}
	if aid != bid {
		if c := strings.Compare(strings.ToLower(aid), strings.ToLower(bid)); c != 0 {
			return c
		}
	}
	return cmp.Compare(aseq, bseq)
}
