// Package results brings deployment results back across the air gap: it
// reads what the deployments of promoted releases did on a destination
// instance (Read) into a signed results bundle (Bundle, FromBundle),
// writes them as a section of the source release's notes (Record,
// ReplaceSection) and lays out the progression of a project's releases
// across both instances (BuildGrid and its text, Markdown and HTML views).
//
// A promoted release is one whose notes carry the line "promoted from
// <source instance> release <version>, bundle <digest>" (ParsePromotion;
// release apply writes it). Deployments are never re-created on the
// source: the notes and the status page say what happened where.
package results

import (
	"regexp"
	"strings"
)

// Promotion is what a promoted release's notes say of its origin.
type Promotion struct {
	// Instance names the source instance (its URL, or the name given).
	Instance string `json:"Instance"`
	// Version is the release's version on the source.
	Version string `json:"Version"`
	// Bundle is the digest of the release bundle it was promoted with.
	Bundle string `json:"Bundle"`
}

// String is the line release apply writes into the notes of the release it
// creates, which ParsePromotion reads back.
func (p Promotion) String() string {
	return "promoted from " + p.Instance + " release " + p.Version + ", bundle " + p.Bundle
}

// promotionLine matches Promotion.String anywhere in the notes (a line of
// its own, or inside Markdown emphasis): the instance runs up to the last
// " release " before the version.
var promotionLine = regexp.MustCompile(`(?i)promoted from (\S(?:.*\S)?) release ([0-9A-Za-z][0-9A-Za-z.+-]*), bundle (sha256:[0-9a-f]{64})`)

// ParsePromotion finds the promotion line in a release's notes; ok is
// false when the release was not promoted by octobundle.
func ParsePromotion(notes string) (p Promotion, ok bool) {
	for _, line := range strings.Split(notes, "\n") {
		if m := promotionLine.FindStringSubmatch(line); m != nil {
			return Promotion{Instance: m[1], Version: m[2], Bundle: m[3]}, true
		}
	}
	return Promotion{}, false
}

// Release is what one release's deployments did on one instance: the file
// results/{project}/{version}.json of a results bundle.
type Release struct {
	// Name is the release's version on the instance (the bundle file's
	// name).
	Name string `json:"Name"`
	// Project is the project's name.
	Project string `json:"Project"`
	// Channel is the release's channel.
	Channel string `json:"Channel,omitempty"`
	// Instance names the instance the deployments ran on (the
	// destination in a results bundle).
	Instance string `json:"Instance"`
	// PromotedFrom is the release's origin, nil for a release made on the
	// instance itself.
	PromotedFrom *Promotion `json:"PromotedFrom,omitempty"`
	// Environments are every environment of the instance, in its sort
	// order: the status page's columns, deployed to or not.
	Environments []string `json:"Environments"`
	// Deployments are the release's deployments, oldest first.
	Deployments []Deployment `json:"Deployments"`
}

// SourceVersion is the release's version on the source: the promotion's,
// else its own.
func (r Release) SourceVersion() string {
	if r.PromotedFrom != nil && r.PromotedFrom.Version != "" {
		return r.PromotedFrom.Version
	}
	return r.Name
}

// Deployment is one deployment and how its task ended, by names only.
type Deployment struct {
	// Environment is the environment deployed to.
	Environment string `json:"Environment"`
	// Tenant is the tenant deployed for ("" untenanted).
	Tenant string `json:"Tenant,omitempty"`
	// State is the task's state: Queued, Executing, Cancelling, Success,
	// Failed, Canceled, TimedOut (Unknown when the server no longer has
	// the task).
	State string `json:"State"`
	// Created is when the deployment was created (RFC 3339).
	Created string `json:"Created,omitempty"`
	// QueueTime, StartTime and CompletedTime are the task's times.
	QueueTime     string `json:"QueueTime,omitempty"`
	StartTime     string `json:"StartTime,omitempty"`
	CompletedTime string `json:"CompletedTime,omitempty"`
	// Duration is the task's duration as the server words it.
	Duration string `json:"Duration,omitempty"`
	// ErrorMessage is the task's error message.
	ErrorMessage string `json:"ErrorMessage,omitempty"`
	// DeployedBy is the user who started it (a name, never an ID).
	DeployedBy string `json:"DeployedBy,omitempty"`
	// Log is the task log as the server gives it (secrets masked by the
	// server), with report --with-logs.
	Log string `json:"Log,omitempty"`
}

// Completed reports whether the deployment's task has ended.
func (d Deployment) Completed() bool {
	switch d.State {
	case "Success", "Failed", "Canceled", "TimedOut":
		return true
	}
	return false
}
