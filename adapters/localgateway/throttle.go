package localgateway

import (
	"fmt"
	"math"
	"net/http"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// The account's throttle, as API Gateway applies it to the Management API.
//
// API Gateway throttles with a token bucket, "where a token counts for a request",
// against all APIs in the account, per Region, and answers a throttled request 429
// (Throttle requests to your REST APIs for better throughput in API Gateway,
// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
// The quota is 10,000 requests per second with a bucket of 5,000, shared "across HTTP
// APIs, REST APIs, WebSocket APIs, and WebSocket callback APIs" (Amazon API Gateway
// quotas, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html):
// the callback API is the Management API, so each PostToConnection, GetConnection and
// DeleteConnection takes a token, and a fleet posting as fast as it can throttles the
// account's other APIs too.
//
// The emulator charges only those Management API calls. On AWS the same bucket also
// takes a token for each $connect and each client message of the WebSocket APIs ("a
// token counts for a request", across all the APIs above), and for every call of the
// account's REST and HTTP APIs. Emulating the callback API alone is enough to test the
// pusher's pacing: the pusher makes no other call, and the rest of the account's
// traffic only leaves it a smaller share, which a lower ThrottleRPS stands for. It
// keeps the counts exact too: a test's clients connecting and subscribing take no
// token from its posts.
//
// The answer is the Management API's own throttling error, LimitExceededException, not
// TooManyRequestsException. The Management API's model (apigatewaymanagementapi
// 2018-11-29, as aws-sdk-go-v2's types.LimitExceededException and the API reference
// render it) declares LimitExceededException, HTTP 429, on all three operations: "The
// client is sending more than the allowed number of requests per unit of time or the
// WebSocket client side buffer is full". TooManyRequestsException is the error of API
// Gateway's control plane (the apigateway service: CreateDeployment, GetResources, ...);
// no Management API client knows it, and aws-sdk-go-v2 would turn it into a
// smithy.GenericAPIError. Callers on AWS see LimitExceededException from
// PostToConnection under load (the AWS SDK for Java 2.x builds that exception only
// from a response of that type: gchq/sleeper#7494). The model gives the exception no
// members, so the SDKs read no message; the body says "Limit Exceeded", the words AWS's
// troubleshooting article uses for API Gateway's 429s
// (https://repost.aws/knowledge-center/api-gateway-429-limit).
const (
	throttledType    = "LimitExceededException"
	throttledMessage = "Limit Exceeded"
)

// throttle is the token bucket of the Management API's calls, with their counts.
type throttle struct {
	// limiter is nil without a throttle: every call is admitted.
	limiter   *rate.Limiter
	admitted  atomic.Int64
	throttled atomic.Int64
}

// newThrottle returns the throttle of cfg, whose defaults are set.
func newThrottle(cfg Config) *throttle {
	t := &throttle{}
	if cfg.ThrottleRPS > 0 {
		// A new limiter's bucket is full: the first burst passes at once, as on an
		// account that has been quiet.
		t.limiter = rate.NewLimiter(rate.Limit(cfg.ThrottleRPS), cfg.ThrottleBurst)
	}
	return t
}

// allow takes a token for one call, and reports whether the call may go on.
func (t *throttle) allow() bool {
	if t.limiter != nil && !t.limiter.Allow() {
		t.throttled.Add(1)
		return false
	}
	t.admitted.Add(1)
	return true
}

// defaultThrottleBurst returns the bucket of a throttle of rps requests per second that
// names none: half a second of the rate, AWS's default ratio (5,000 for 10,000 RPS), and
// at least one call, or no call would ever pass.
func defaultThrottleBurst(rps float64) int {
	return max(1, int(math.Ceil(rps/2)))
}

// validateThrottle reports a throttle that cannot be built.
func (c Config) validateThrottle() error {
	switch {
	case math.IsNaN(c.ThrottleRPS) || math.IsInf(c.ThrottleRPS, 0) || c.ThrottleRPS < 0:
		return fmt.Errorf("throttle rate %v is not a finite number of requests per second, 0 or more", c.ThrottleRPS)
	case c.ThrottleBurst < 0:
		return fmt.Errorf("throttle burst %d is negative", c.ThrottleBurst)
	case c.ThrottleBurst > 0 && c.ThrottleRPS == 0:
		return fmt.Errorf("throttle burst %d without a throttle rate: set the rate, or neither", c.ThrottleBurst)
	}
	return nil
}

// throttled wraps a Management API handler: a call the throttle refuses is answered
// 429 LimitExceededException and does nothing, as on AWS, where the throttle answers
// before the call reaches its connection (a throttled post to a gone connection is a
// 429, not a 410).
func (g *Gateway) throttled(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !g.throttle.allow() {
			writeError(w, http.StatusTooManyRequests, throttledType, throttledMessage)
			return
		}
		h(w, r)
	}
}

// Throttled returns the number of Management API calls (POST, GET and DELETE
// /@connections/{id}) that the throttle answered 429 (Config.ThrottleRPS): none was
// carried out. A test or the console reads it to see the account's budget exceeded.
func (g *Gateway) Throttled() int64 { return g.throttle.throttled.Load() }

// Admitted returns the number of Management API calls that the throttle let through,
// every call without a throttle; each was then answered as the call deserves (200, 204,
// 410, 413, ...). With Throttled, it tells the share of calls throttled.
func (g *Gateway) Admitted() int64 { return g.throttle.admitted.Load() }
