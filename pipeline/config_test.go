package pipeline_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestConfigValidate checks what Validate reports, message for message and in the
// order of Config's fields: the same settings always read the same, and none is lost.
func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  pipeline.Config
		want []string
	}{
		{"zero value", pipeline.Config{}, nil},
		{"no jitter", pipeline.Config{Retry: pipeline.RetryConfig{Jitter: pipeline.NoJitter}}, nil},
		{"at the bounds", pipeline.Config{MaxFrameBytes: 128 * 1024, Split: pipeline.SplitConfig{MaxSegments: 1_000_000}}, nil},
		{"one", pipeline.Config{PageSize: -1}, []string{"PageSize is -1, below 0"}},
		{"frame over the gateway's", pipeline.Config{MaxFrameBytes: 128*1024 + 1}, []string{"MaxFrameBytes is 131073, over the gateway's 131072"}},
		{"one segment", pipeline.Config{Split: pipeline.SplitConfig{MaxSegments: 1}}, []string{"Split.MaxSegments is 1: a split makes at least 2 tasks"}},
		{"every one", pipeline.Config{
			PostConcurrency:  -1,
			StageConcurrency: -2,
			MaxRequests:      -3,
			PostTimeout:      -time.Second,
			RequestTimeout:   -time.Minute,
			PruneGrace:       -time.Millisecond,
			PageSize:         -4,
			MaxFrameBytes:    -5,
			CloseTimeout:     -2 * time.Second,
			Retry:            pipeline.RetryConfig{MaxAttempts: -6, Multiplier: 0.5, Jitter: 1},
			Breaker:          pipeline.BreakerConfig{Failures: -7, OpenFor: -3 * time.Second, Probes: -8},
			Split:            pipeline.SplitConfig{Above: -9, SegmentSize: -10, MaxSegments: -11, EstimateMaxAge: -time.Hour},
		}, []string{
			"PostConcurrency is -1, below 0",
			"StageConcurrency is -2, below 0",
			"MaxRequests is -3, below 0",
			"PostTimeout is -1s, below 0",
			"RequestTimeout is -1m0s, below 0",
			"PruneGrace is -1ms, below 0",
			"PageSize is -4, below 0",
			"MaxFrameBytes is -5, below 0",
			"CloseTimeout is -2s, below 0",
			"Retry.MaxAttempts is -6, below 0",
			"Retry.Multiplier is 0.5, below 1",
			"Retry.Jitter is 1, outside [0, 1) and not NoJitter",
			"Breaker.Failures is -7, below 0",
			"Breaker.OpenFor is -3s, below 0",
			"Breaker.Probes is -8, below 0",
			"Split.Above is -9, below 0",
			"Split.SegmentSize is -10, below 0",
			"Split.MaxSegments is -11, below 0",
			"Split.EstimateMaxAge is -1h0m0s, below 0",
		}},
		{"every bound", pipeline.Config{MaxFrameBytes: 1 << 20, Retry: pipeline.RetryConfig{Jitter: -0.5}, Split: pipeline.SplitConfig{MaxSegments: 2_000_000}}, []string{
			"MaxFrameBytes is 1048576, over the gateway's 131072",
			"Retry.Jitter is -0.5, outside [0, 1) and not NoJitter",
			"Split.MaxSegments is 2000000, over DynamoDB's 1000000 segments of a Scan",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Again and again: an order that depends on a map's would differ.
			for range 20 {
				var got []string
				if err := tt.cfg.Validate(); err != nil {
					got = strings.Split(err.Error(), "\n")
				}
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Fatalf("Validate():\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				}
			}
		})
	}
}

// TestDefaults checks that a zero Config runs with the exported defaults, which flags
// name as theirs, every one of them, and that they pass Validate.
func TestDefaults(t *testing.T) {
	defaults := pipeline.Config{
		PostConcurrency:  pipeline.DefaultPostConcurrency,
		StageConcurrency: pipeline.DefaultStageConcurrency,
		MaxRequests:      pipeline.DefaultMaxRequests,
		PostTimeout:      pipeline.DefaultPostTimeout,
		RequestTimeout:   pipeline.DefaultRequestTimeout,
		PruneGrace:       pipeline.DefaultPruneGrace,
		PageSize:         pipeline.DefaultPageSize,
		MaxFrameBytes:    pipeline.DefaultMaxFrameBytes,
		CloseTimeout:     pipeline.DefaultCloseTimeout,
		PoisonTopic:      pipeline.DefaultPoisonTopic,
		Retry: pipeline.RetryConfig{
			MaxAttempts: pipeline.DefaultRetryMaxAttempts, InitialInterval: pipeline.DefaultRetryInitialInterval,
			MaxInterval: pipeline.DefaultRetryMaxInterval, Multiplier: pipeline.DefaultRetryMultiplier, Jitter: pipeline.DefaultRetryJitter,
		},
		Breaker: pipeline.BreakerConfig{Failures: pipeline.DefaultBreakerFailures, OpenFor: pipeline.DefaultBreakerOpenFor, Probes: pipeline.DefaultBreakerProbes},
		Split: pipeline.SplitConfig{
			SegmentSize: pipeline.DefaultSplitSegmentSize, MaxSegments: pipeline.DefaultSplitMaxSegments, EstimateMaxAge: pipeline.DefaultSplitEstimateMaxAge,
		},
	}
	if got := pipeline.Defaulted(pipeline.Config{}); !reflect.DeepEqual(got, defaults) {
		t.Errorf("a zero Config defaults to\n%+v\nwant the Default constants\n%+v", got, defaults)
	}
	if err := defaults.Validate(); err != nil {
		t.Errorf("the defaults do not pass Validate: %v", err)
	}
}
