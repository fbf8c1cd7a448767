package settings

import (
	"log/slog"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// LogPace says at start, when posts are paced (POST_RATE) or split broadcasts share a
// fleet rate (FLEET_POST_RATE), what the posts are held to, in one line: a pusher that
// posts slower than expected tells why in its first lines. Unpaced, it says nothing.
// A burst left at 0 is logged as 0: the pipeline makes it a twentieth of the rate.
func LogPace(logger *slog.Logger, c pipeline.PaceConfig) {
	if c.Rate == 0 && c.FleetRate == 0 {
		return
	}
	logger.Info("posts paced under API Gateway's account throttle (docs/pacing.md)", "post_rate", c.Rate, "post_burst", c.Burst,
		"fleet_post_rate", c.FleetRate)
}
