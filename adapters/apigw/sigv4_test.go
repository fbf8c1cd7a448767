package apigw_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
)

// testCreds are the credentials the verifying gateway knows.
var testCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}

// verifyingAPI is a Management API that checks SigV4 as AWS does: it signs what it
// received again, with the credentials it knows, the region, service and time the
// Authorization header names, and the SHA-256 of the body it read, and answers 403
// unless the signatures match, the signing time is within five minutes of its clock
// and the session token has not expired; its refusals are worded as API Gateway's.
// Its frames are the bodies it accepted.
type verifyingAPI struct {
	// ahead is how far its clock runs ahead of the test's; negative for behind.
	ahead time.Duration
	// expired are the session tokens it answers ExpiredTokenException to.
	expired map[string]bool

	mu      sync.Mutex
	frames  []string
	to      []string // the connection each frame was posted to
	refused []string // the messages of its refusals
}

// sigV4Format is the format of SigV4's times (X-Amz-Date).
const sigV4Format = "20060102T150405Z"

func (v *verifyingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now().Add(v.ahead).UTC()
	w.Header().Set("Date", now.Format(http.TimeFormat))
	body, _ := io.ReadAll(r.Body)
	code, err := v.check(r, body, now)
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		v.refused = append(v.refused, err.Error())
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"message":%q}`, err.Error())
		return
	}
	v.frames = append(v.frames, string(body))
	v.to = append(v.to, path.Base(r.URL.Path))
}

// check checks r's token, signing time and signature over body at the gateway's time
// now, and returns the error type and message of a refusal.
func (v *verifyingAPI) check(r *http.Request, body []byte, now time.Time) (string, error) {
	if v.expired[r.Header.Get("X-Amz-Security-Token")] {
		return "ExpiredTokenException", errors.New("The security token included in the request is expired")
	}
	at, err := time.Parse(sigV4Format, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "IncompleteSignatureException", fmt.Errorf("X-Amz-Date: %w", err)
	}
	switch earliest, latest := now.Add(-5*time.Minute), now.Add(5*time.Minute); {
	case at.Before(earliest):
		return "InvalidSignatureException", fmt.Errorf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			at.Format(sigV4Format), earliest.Format(sigV4Format), now.Format(sigV4Format))
	case at.After(latest):
		return "InvalidSignatureException", fmt.Errorf("Signature not yet current: %s is still later than %s (%s + 5 min.)",
			at.Format(sigV4Format), latest.Format(sigV4Format), now.Format(sigV4Format))
	}
	if err := verify(r, body, at); err != nil {
		return "InvalidSignatureException", err
	}
	return "", nil
}

// verify checks r's SigV4 signature over body, signed at at.
func verify(r *http.Request, body []byte, at time.Time) error {
	auth := r.Header.Get("Authorization")
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ", ") {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/") // AKID/date/region/service/aws4_request
	if len(scope) != 5 || scope[0] != testCreds.AccessKeyID || scope[3] != "execute-api" {
		return fmt.Errorf("credential scope %q", fields["Credential"])
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.EscapedPath(), bytes.NewReader(body))
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h != "host" && h != "content-length" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, again, hex.EncodeToString(sum[:]), "execute-api", scope[2], at); err != nil {
		return err
	}
	if got, want := auth, again.Header.Get("Authorization"); got != want {
		return errors.New("The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

// received returns the frames the gateway accepted, by connection.
func (v *verifyingAPI) received() map[string][]string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[string][]string{}
	for i, id := range v.to {
		out[id] = append(out[id], v.frames[i])
	}
	return out
}

// taken returns the frames the gateway accepted and the messages of its refusals.
func (v *verifyingAPI) taken() (frames, refused []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.frames), slices.Clone(v.refused)
}

// TestSignature posts through the SDK's own client and through the Poster to a gateway
// that verifies SigV4: the SDK's calls pass, which shows the gateway verifies as AWS
// does, and so must the Poster's, with the right frames, over ids that need escaping and
// a frame posted to many connections at once; a wrong secret does not pass.
func TestSignature(t *testing.T) {
	api := &verifyingAPI{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	endpoint := srv.URL + "/prod"
	awsCfg := aws.Config{Region: "eu-west-1", Credentials: credentials(testCreds)}

	sdk := apigatewaymanagementapi.NewFromConfig(awsCfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
	if _, err := sdk.PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String("L0SM9cOFvHcCIhw="), Data: []byte(`{"from":"sdk"}`),
	}); err != nil {
		t.Fatalf("the SDK's own call fails the gateway's check: %v", err)
	}

	p := newPoster(t, awsCfg, apigw.Config{Endpoint: endpoint})
	shared := []byte(`{"from":"poster","to":"everyone"}`)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.PostToConnection(context.Background(), fmt.Sprintf("conn/%d+=", i), shared); err != nil {
				t.Errorf("post %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	own := []byte(`{"from":"poster","to":"one"}`)
	if err := p.PostToConnection(context.Background(), "L0SM9cOFvHcCIhw=", own); err != nil {
		t.Fatalf("post: %v", err)
	}
	if err := p.DeleteConnection(context.Background(), "L0SM9cOFvHcCIhw="); err != nil {
		t.Fatalf("delete: %v", err)
	}
	frames, _ := api.taken()
	got := strings.Join(frames, "\n")
	if want := `{"from":"sdk"}` + strings.Repeat("\n"+string(shared), 20) + "\n" + string(own) + "\n"; got != want {
		t.Errorf("the gateway took:\n%s\nwant:\n%s", got, want)
	}

	wrong := testCreds
	wrong.SecretAccessKey = "not the secret"
	bad := newPoster(t, aws.Config{Region: "eu-west-1", Credentials: credentials(wrong)}, apigw.Config{Endpoint: endpoint})
	// A refused signature is tried once more with the credentials refreshed, then left
	// to the pipeline's retries and breaker: the secret may yet be rotated.
	if err := bad.PostToConnection(context.Background(), "abc=", own); kind(err) != "transient" || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Fatalf("post with a wrong secret: %s (%v), want a transient InvalidSignatureException", kind(err), err)
	}
	if _, refused := api.taken(); len(refused) != 2 {
		t.Errorf("the gateway refused %d calls with a wrong secret, want 2 (one corrected retry)", len(refused))
	}
}

func credentials(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}

// TestSignatureOfManyFrames posts more distinct frames than the Poster remembers the
// hashes of, as a stage that makes a frame per connection does: each is signed right.
func TestSignatureOfManyFrames(t *testing.T) {
	api := &verifyingAPI{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	p := newPoster(t, aws.Config{Region: "eu-west-1", Credentials: credentials(testCreds)}, apigw.Config{Endpoint: srv.URL})
	for i := range 200 {
		frame := bytes.Repeat(fmt.Appendf(nil, `{"n":%d}`, i), 1+i%7*1000)
		if err := p.PostToConnection(context.Background(), "abc=", frame); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if frames, _ := api.taken(); len(frames) != 200 {
		t.Fatalf("the gateway took %d frames, want 200", len(frames))
	}
}
