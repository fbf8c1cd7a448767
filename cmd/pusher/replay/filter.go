package replay

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Filter selects parked messages; its zero value selects all.
type Filter struct {
	// Reason selects the messages whose reason contains it.
	Reason string
	// Stage selects the messages parked by that stage (decode, intake, post, ...).
	Stage string
	// Since selects the messages whose last failure is at most that old.
	Since time.Duration
	// User selects the deliveries to that user.
	User string
	// Topic selects the deliveries to that topic's subscribers and the requests that
	// name it.
	Topic string
	// Now is the clock Since is measured on; default time.Now.
	Now func() time.Time
}

// Match tells whether f selects p.
func (f Filter) Match(p pipeline.Parked) bool {
	switch {
	case f.Reason != "" && !strings.Contains(p.Reason, f.Reason):
		return false
	case f.Stage != "" && p.Stage != f.Stage:
		return false
	case f.User != "" && p.UserID != f.User:
		return false
	case f.Topic != "" && p.Topic != f.Topic && !namesTopic(p.Payload, f.Topic):
		return false
	}
	if f.Since > 0 {
		now := time.Now
		if f.Now != nil {
			now = f.Now
		}
		if p.LastFailedAt.IsZero() || p.LastFailedAt.Before(now().Add(-f.Since)) {
			return false
		}
	}
	return true
}

// namesTopic tells whether payload is a request that names topic.
func namesTopic(payload, topic string) bool {
	var req struct {
		Topics []string `json:"topics"`
	}
	return json.Unmarshal([]byte(payload), &req) == nil && slices.Contains(req.Topics, topic)
}
