// Package apigw posts frames to WebSocket clients through API Gateway's Management API.
// It implements handlers.Poster.
//
// PostToConnection is one REST call signed with SigV4 for the execute-api service. The
// Poster makes it with aws-sdk-go-v2's own pieces (the credentials of the aws.Config and
// its cache, the SDK's HTTP transport) but not its apigatewaymanagementapi client, whose
// per-call middleware stack costs about twice the POST itself; it hashes a frame once,
// however many connections it is posted to (see frameHashes), and signs with a signer of
// its own that keeps the signing key for the day (see signer), checked byte for byte
// against the SDK's SignHTTP by FuzzSigner. BenchmarkPostToConnection compares the
// Poster with the SDK client, BenchmarkSign the two signers.
//
// Like the SDK's retryer, it corrects its signing time for the gateway's clock and
// refreshes expired credentials (see signingClock): a call whose signature the gateway
// refuses is made once more, corrected, inside PostToConnection. That one retry is made
// here rather than left to the pipeline because only the Poster can correct it, and at
// once: a whole broadcast signed by a skewed clock is refused together, and waiting out
// the pipeline's backoff would only delay it; a refusal the correction does not pass is
// returned as a transient error, for the pipeline to retry and its breaker to count.
package apigw

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// signingName is the service API Gateway's Management API is signed for.
const signingName = "execute-api"

// maxErrorBody bounds what is read of an error response: its message is short.
const maxErrorBody = 4 << 10

// Poster sends frames to connections through the Management API. It is safe for
// concurrent use. The caller's context bounds a call: the pipeline's PostTimeout does.
// It retries only a refused signature, once, corrected: the pipeline retries the rest.
type Poster struct {
	client *awshttp.BuildableClient
	// connections is the endpoint's URL of the connections, ending in "/@connections/".
	connections connectionsURL
	// creds is nil for a gateway that checks no signature.
	creds aws.CredentialsProvider
	// cache is creds when it is a cache, which a refused signature invalidates, one
	// refresh at a time.
	cache      *aws.CredentialsCache
	refreshing sync.Mutex
	signer     *signer
	clock      signingClock
	hashes     frameHashes
}

var _ handlers.Poster = (*Poster)(nil)

// New returns a Poster on the endpoint of cfg, signing with awsCfg's credentials for its
// region (see LocalConfig for a local gateway, which checks no signature).
func New(awsCfg aws.Config, cfg Config) (*Poster, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("apigw config: %w", err)
	}
	connections, err := newConnectionsURL(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("apigw config: %w", err)
	}
	p := &Poster{
		client: awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = cfg.MaxConns
			t.MaxIdleConnsPerHost = cfg.MaxConns
			t.MaxConnsPerHost = 0
		}),
		connections: connections,
		signer:      newSigner(awsCfg.Region),
	}
	switch creds := awsCfg.Credentials; {
	case creds == nil:
		return nil, errors.New("apigw: no credentials (apigw.LocalConfig is for a gateway that checks no signature)")
	case aws.IsCredentialsProvider(creds, (*aws.AnonymousCredentials)(nil)):
	case aws.IsCredentialsProvider(creds, (*aws.CredentialsCache)(nil)):
		p.creds = creds
		p.cache, _ = creds.(*aws.CredentialsCache)
	default:
		p.cache = aws.NewCredentialsCache(creds)
		p.creds = p.cache
	}
	if p.creds != nil && awsCfg.Region == "" {
		return nil, errors.New("apigw: no region to sign for (AWS_REGION)")
	}
	return p, nil
}

// PostToConnection sends frame to the connection as one text frame. It returns an error
// wrapping handlers.ErrGone for a connection the gateway no longer knows, one wrapping
// handlers.ErrThrottled for a post the gateway throttled (429), a
// handlers.PermanentError for a post no retry can pass (no frame, too large, forbidden,
// any other 4xx but 408, 429 and a refused signature), and any other error as it is, to
// be retried: 5xx, 408, no answer, and a signature or token still refused after the
// corrected retry.
func (p *Poster) PostToConnection(ctx context.Context, connectionID string, frame []byte) error {
	if len(frame) == 0 {
		return fmt.Errorf("post to connection %s: %w", connectionID, handlers.Permanent(errors.New("no frame")))
	}
	if err := p.call(ctx, http.MethodPost, connectionID, frame); err != nil {
		return fmt.Errorf("post to connection %s: %w", connectionID, err)
	}
	return nil
}

// DeleteConnection disconnects the client. Its errors are those of PostToConnection.
func (p *Poster) DeleteConnection(ctx context.Context, connectionID string) error {
	if err := p.call(ctx, http.MethodDelete, connectionID, nil); err != nil {
		return fmt.Errorf("delete connection %s: %w", connectionID, err)
	}
	return nil
}

// call makes a signed call on a connection, once more if the gateway refused it for a
// reason a corrected clock or fresh credentials remove, and classifies its failure.
func (p *Poster) call(ctx context.Context, method, connectionID string, body []byte) error {
	refused, err := p.attempt(ctx, method, connectionID, body, true)
	if refused != nil && refused.retry {
		refused, err = p.attempt(ctx, method, connectionID, body, false)
	}
	switch {
	case err != nil:
		return err
	case refused != nil:
		return classify(refused.Error)
	}
	return nil
}

// refusal is the gateway's answer to an attempt it refused, and whether the Poster
// corrected what made it refuse, for one more attempt.
type refusal struct {
	*Error
	retry bool
}

// attempt makes one signed call; when correct is set and the gateway refuses the
// signature, it corrects the clock or credentials for a retry (see Poster.corrected).
// It returns the gateway's refusal, or the error of a call that got no answer.
func (p *Poster) attempt(ctx context.Context, method, connectionID string, body []byte, correct bool) (*refusal, error) {
	// The id is escaped as the SDK escapes it ('=' too), and the signer escapes the path
	// once more for the canonical request, as SigV4 wants for every service but S3.
	req, path := p.connections.request(ctx, method, connectionID, body)
	var signed signature
	if p.creds != nil {
		var err error
		if signed, err = p.sign(ctx, req, path, body); err != nil {
			return nil, err
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err // the network or the context: retried
	}
	at := time.Now()
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		// API Gateway answers a post with no body (Content-Length: 0), which net/http
		// gives as http.NoBody: there is nothing to drain before the connection is reused.
		if resp.Body != http.NoBody {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		}
		return nil, nil
	}
	r := &refusal{Error: responseError(resp)}
	r.retry = correct && p.corrected(ctx, r.Error, signed, resp.Header.Get("Date"), at)
	return r, nil
}

// sign signs req, whose escaped path is path and whose body is body, with SigV4 for
// execute-api, at the gateway's time as the signing clock knows it, and returns what it
// signed with.
func (p *Poster) sign(ctx context.Context, req *http.Request, path string, body []byte) (signature, error) {
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return signature{}, fmt.Errorf("retrieve credentials: %w", err)
	}
	s := signature{skew: p.clock.offset(), creds: creds}
	p.signer.sign(req, path, creds, p.hashes.of(body), time.Now().Add(s.skew))
	return s, nil
}

// Error is the Management API's answer to a call it refused.
type Error struct {
	// StatusCode is the HTTP status, such as 410.
	StatusCode int
	// Code is the error type, such as GoneException; empty if the answer had none.
	Code string
	// Message is the answer's message, or the start of its body.
	Message string
	// RequestID is API Gateway's id of the call, for AWS support.
	RequestID string
}

// Error returns the status, code, message and request id.
func (e *Error) Error() string {
	s := fmt.Sprintf("status %d", e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

// HTTPStatusCode returns the HTTP status, as the SDK's response errors do.
func (e *Error) HTTPStatusCode() int { return e.StatusCode }

// responseError reads the error resp carries: AWS's REST-JSON error shape, a
// {"message": ...} body with the type in X-Amzn-ErrorType, or any other body.
func responseError(resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{
		StatusCode: resp.StatusCode,
		// The type may carry a suffix after a colon, such as the spec's URL.
		Code:      strings.TrimSpace(strings.SplitN(resp.Header.Get("X-Amzn-ErrorType"), ":", 2)[0]),
		RequestID: cmp.Or(resp.Header.Get("X-Amzn-RequestId"), resp.Header.Get("X-Amz-Apigw-Id")),
	}
	var shape struct {
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	if json.Unmarshal(body, &shape) == nil {
		e.Message = cmp.Or(shape.Message, shape.Message2)
	} else {
		e.Message = strings.ToValidUTF8(strings.TrimSpace(string(body)), "?")
	}
	if len(e.Message) > 200 {
		e.Message = strings.ToValidUTF8(e.Message[:200], "") + "…"
	}
	return e
}

// classify marks e gone, throttled or permanent, as the post stage branches on it.
func classify(e *Error) error {
	switch s := e.StatusCode; {
	case s == http.StatusGone:
		return fmt.Errorf("%w: %w", handlers.ErrGone, e)
	case s == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %w", handlers.ErrThrottled, e)
	case signingRefused(e):
		return e // still refused after the corrected retry: the credentials may yet be renewed
	case s >= 400 && s < 500 && s != http.StatusRequestTimeout:
		return handlers.Permanent(e) // 413 too large, 403 forbidden, 400 bad request…
	default: // 5xx, 408 and anything else
		return e
	}
}
