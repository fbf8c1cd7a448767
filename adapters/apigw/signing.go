package apigw

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// skewThreshold is how far the gateway's clock, as its Date header shows it, must be from
// the time a call was signed with for a refusal to be put down to the clock. It is
// aws-sdk-go-v2's (aws/retry: skewThreshold), under the five minutes SigV4 allows.
const skewThreshold = 4 * time.Minute

// signingClock is the time the Poster signs with: its own clock plus the skew the
// gateway's refusals showed. AWS refuses a signature more than five minutes off its
// clock ("Signature expired: ... is now earlier than ..."); aws-sdk-go-v2's retryer
// corrects for it the same way (the Clock Skew Correction of aws/retry's Attempt
// middleware), keeping one skew per client.
type signingClock struct {
	skew atomic.Int64 // how far the gateway's clock is ahead of ours, in nanoseconds
}

// offset returns the skew in use.
func (c *signingClock) offset() time.Duration { return time.Duration(c.skew.Load()) }

// correct reads the gateway's time in the Date header of a refusal received at at, for
// a call signed with the skew signedWith. If the gateway's clock is more than
// skewThreshold from the time the call was signed with, that skew is used from then on
// and correct reports true: the clock explains the refusal. A later refusal corrects
// it again, so a skew that goes away is unlearnt the same way.
func (c *signingClock) correct(date string, at time.Time, signedWith time.Duration) bool {
	server, err := http.ParseTime(date)
	if err != nil {
		return false
	}
	skew := server.Sub(at)
	if d := skew - signedWith; d > -skewThreshold && d < skewThreshold {
		return false
	}
	c.skew.Store(int64(skew))
	return true
}

// signingCodes are the refusals of a signature that a corrected clock or fresh
// credentials can pass: the clock skew codes of aws-sdk-go-v2's retryer (aws/retry:
// clockSkewCodes) but AccessDeniedException, which is a missing grant unless the clock
// explains it, and the codes of an expired session token.
var signingCodes = map[string]bool{
	"InvalidSignatureException": true,
	"SignatureDoesNotMatch":     true,
	"AuthFailure":               true,
	"RequestTimeTooSkewed":      true,
	"RequestExpired":            true,
	"RequestInTheFuture":        true,
	"ExpiredTokenException":     true,
	"ExpiredToken":              true,
}

// signingRefused reports whether e refuses the call's signature or its credentials'
// age, by its code or, for an answer without one, by AWS's wording.
func signingRefused(e *Error) bool {
	if e.StatusCode != http.StatusForbidden && e.StatusCode != http.StatusBadRequest {
		return false
	}
	return signingCodes[e.Code] ||
		strings.HasPrefix(e.Message, "Signature expired") ||
		strings.HasPrefix(e.Message, "Signature not yet current") ||
		strings.Contains(e.Message, "security token included in the request is expired")
}

// signature is what one call was signed with.
type signature struct {
	skew  time.Duration
	creds aws.Credentials
}

// corrected prepares the one corrected retry of a call the gateway refused, and reports
// whether there is one to make: when the gateway's Date shows a clock more than
// skewThreshold from the call's signing time (for a refused signature, or any 403, as
// the SDK gates AccessDeniedException), the skew is corrected; for a refused signature
// the clock does not explain, the credentials are refreshed. Other refusals, such as a
// 403 for a missing grant, have none.
func (p *Poster) corrected(ctx context.Context, e *Error, s signature, date string, at time.Time) bool {
	if p.creds == nil {
		return false
	}
	refused := signingRefused(e)
	if (refused || e.StatusCode == http.StatusForbidden) && p.clock.correct(date, at, s.skew) {
		return true
	}
	if !refused {
		return false
	}
	p.refresh(ctx, s.creds)
	return true
}

// refresh invalidates the cached credentials if they are still those a refused call
// was signed with, and retrieves new ones. One refresh at a time: of the posts in flight
// refused together, the first refreshes the credentials and the others find them new.
func (p *Poster) refresh(ctx context.Context, used aws.Credentials) {
	if p.cache == nil {
		return
	}
	p.refreshing.Lock()
	defer p.refreshing.Unlock()
	if now, err := p.cache.Retrieve(ctx); err == nil && !sameCredentials(now, used) {
		return
	}
	p.cache.Invalidate()
	_, _ = p.cache.Retrieve(ctx) // a failure is the retry's to report, when it signs
}

func sameCredentials(a, b aws.Credentials) bool {
	return a.AccessKeyID == b.AccessKeyID && a.SecretAccessKey == b.SecretAccessKey && a.SessionToken == b.SessionToken
}
