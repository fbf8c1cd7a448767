package replay

import (
	"encoding/json"
	"fmt"
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

// IntakeStage is the stage name of a body the dev intake refused (not JSON): it parks
// before the pipeline's stages.
const IntakeStage = "intake"

// Stages returns the names of the stages a message can be parked by: the intake's,
// the pipeline's built-in stages in order, then custom, a team's own.
func Stages(custom ...string) []string {
	return append([]string{IntakeStage, pipeline.StageDecode, pipeline.StageDedupe, pipeline.StageResolve,
		pipeline.StageFanout, pipeline.StagePost, pipeline.StagePrune}, custom...)
}

// Validate refuses a Stage that is none of stages (see Stages): it would select
// nothing, silently.
func (f Filter) Validate(stages []string) error {
	if f.Stage != "" && !slices.Contains(stages, f.Stage) {
		return fmt.Errorf("no stage %q: the stages are %s (a team's own stages are known to its own pusher binary)", f.Stage, strings.Join(stages, ", "))
	}
	if f.Since < 0 {
		return fmt.Errorf("since %s is below 0", f.Since)
	}
	return nil
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
