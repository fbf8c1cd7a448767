package apigw

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

// TestSignerKeyFollowsDateAndCredentials signs with one signer, as a Poster does all
// day, across a year's last midnight, a rotation of its credentials, and a change of
// its secret alone and of its access key alone on the same day: each signature is the
// SDK's, and its credential scope names the UTC day it was made on, which API Gateway
// checks against X-Amz-Date, so a key kept past midnight would be refused.
func TestSignerKeyFollowsDateAndCredentials(t *testing.T) {
	first := aws.Credentials{AccessKeyID: "AKIDFIRST", SecretAccessKey: "first-secret"}
	rotated := aws.Credentials{AccessKeyID: "ASIAROTATED", SecretAccessKey: "rotated-secret", SessionToken: "token"}
	newSecret := aws.Credentials{AccessKeyID: "AKIDFIRST", SecretAccessKey: "second-secret"}
	newAccessKey := aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "second-secret"}
	eve := time.Date(2026, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
	s := newSigner("eu-west-1")
	for _, step := range []struct {
		name      string
		at        time.Time
		creds     aws.Credentials
		wantScope string
	}{
		{"new year's eve", eve, first, "AKIDFIRST/20261231/eu-west-1/execute-api/aws4_request"},
		{"a millisecond later", eve.Add(time.Millisecond), first, "AKIDFIRST/20270101/eu-west-1/execute-api/aws4_request"},
		{"rotated the same day", eve.Add(time.Hour), rotated, "ASIAROTATED/20270101/eu-west-1/execute-api/aws4_request"},
		{"in another time zone", eve.Add(2 * time.Hour).In(time.FixedZone("UTC-5", -5*3600)), rotated, "ASIAROTATED/20270101/eu-west-1/execute-api/aws4_request"},
		{"back to the old key's day", eve, first, "AKIDFIRST/20261231/eu-west-1/execute-api/aws4_request"},
		// The key is derived from the secret alone, but kept by access key, secret and day:
		// a key kept across a new secret would sign with the old one, and one kept across
		// a new access key would name the old key in its Credential.
		{"same access key, new secret, same day", eve, newSecret, "AKIDFIRST/20261231/eu-west-1/execute-api/aws4_request"},
		{"new access key, same secret, same day", eve, newAccessKey, "AKIDOTHER/20261231/eu-west-1/execute-api/aws4_request"},
	} {
		t.Run(step.name, func(t *testing.T) {
			c := signerCases["api gateway id"]
			c.region = "eu-west-1"
			endpoint, _ := c.endpoint()
			want, ok := c.sdkSigned(t, endpoint, step.creds, step.at)
			if !ok {
				t.Fatal("the case is no call the Poster makes")
			}
			got := c.signed(t, s, endpoint, step.creds, step.at)
			checkSigned(t, got, want)
			if auth := got.Header.Get("Authorization"); !strings.Contains(auth, "Credential="+step.wantScope+",") {
				t.Errorf("Authorization %q, want the scope %s", auth, step.wantScope)
			}
		})
	}
}

// TestSignerConcurrent signs from many goroutines at once, as the post stage does,
// at times on either side of midnight and with two credentials, so that the keys and
// dates the signer keeps change under them: every signature is the SDK's (and -race
// watches the signer's pools and cached key).
func TestSignerConcurrent(t *testing.T) {
	s := newSigner("us-east-1")
	midnight := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	creds := []aws.Credentials{
		{AccessKeyID: "AKIDONE", SecretAccessKey: "one"},
		{AccessKeyID: "ASIATWO", SecretAccessKey: "two", SessionToken: "session"},
	}
	type call struct {
		got, want *http.Request
		creds     aws.Credentials
		at        time.Time
	}
	calls := make([][]call, 8)
	for g := range calls {
		for i := range 50 {
			c := signerCases["session token"]
			c.id = fmt.Sprintf("conn/%d=%d", g, i)
			c.region = "us-east-1"
			endpoint, _ := c.endpoint()
			cl := call{creds: creds[(g*i)%2], at: midnight.Add(time.Duration((g+i)%5-2) * time.Second)}
			var ok bool
			if cl.want, ok = c.sdkSigned(t, endpoint, cl.creds, cl.at); !ok {
				t.Fatal("the case is no call the Poster makes")
			}
			cl.got = c.unsigned(t, endpoint)
			calls[g] = append(calls[g], cl)
		}
	}
	payloadHash := (&frameHashes{}).of(signerCases["session token"].body)
	var wg sync.WaitGroup
	for g := range calls {
		wg.Go(func() {
			for _, cl := range calls[g] {
				s.sign(cl.got, cl.got.URL.EscapedPath(), cl.creds, payloadHash, cl.at)
			}
		})
	}
	wg.Wait()
	for _, cs := range calls {
		for _, cl := range cs {
			checkSigned(t, cl.got, cl.want)
		}
	}
}

// TestSignerCasesAreCalls checks that every seed of FuzzSigner is a call the Poster
// makes, which the fuzz target would otherwise pass over without a check.
func TestSignerCasesAreCalls(t *testing.T) {
	for name, c := range signerCases {
		endpoint, ok := c.endpoint()
		if !ok {
			t.Errorf("%s: the endpoint %q does not validate", name, endpoint)
			continue
		}
		if _, ok := c.sdkSigned(t, endpoint, aws.Credentials{AccessKeyID: c.accessKey, SecretAccessKey: c.secret}, time.Unix(0, c.at)); !ok {
			t.Errorf("%s: the SDK's request for %q escapes the id again", name, endpoint)
		}
	}
}

// TestSignedHeadersAsTheSDKClient posts through the SDK's apigatewaymanagementapi client
// and through the Poster to a gateway that records what it gets: neither sends
// X-Amz-Content-Sha256 (SigV4 for execute-api signs the payload's hash without sending
// it; only S3-like services send it), and the Poster signs every AWS header the SDK
// client signs (its own amz-sdk-* bookkeeping and the Content-Type the Poster does not
// send aside).
func TestSignedHeadersAsTheSDKClient(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r)
	}))
	t.Cleanup(srv.Close)
	creds := aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "secret", SessionToken: "token"}
	awsCfg := aws.Config{Region: "eu-west-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return creds, nil
	})}
	sdk := apigatewaymanagementapi.NewFromConfig(awsCfg, func(o *apigatewaymanagementapi.Options) { o.BaseEndpoint = aws.String(srv.URL + "/prod") })
	p, err := New(awsCfg, Config{Endpoint: srv.URL + "/prod"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := sdk.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("a=b"), Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String("a=b")}); err != nil {
		t.Fatal(err)
	}
	if err := p.PostToConnection(ctx, "a=b", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := p.DeleteConnection(ctx, "a=b"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 4 {
		t.Fatalf("the gateway got %d calls, want 4", len(got))
	}
	for i, call := range []string{"post", "delete"} {
		fromSDK, fromPoster := got[i], got[i+2]
		for _, r := range []*http.Request{fromSDK, fromPoster} {
			if v := r.Header.Values("X-Amz-Content-Sha256"); v != nil {
				t.Errorf("%s: X-Amz-Content-Sha256 %q sent", call, v)
			}
		}
		if fromSDK.URL.EscapedPath() != fromPoster.URL.EscapedPath() {
			t.Errorf("%s: the Poster's path %s, the SDK's %s", call, fromPoster.URL.EscapedPath(), fromSDK.URL.EscapedPath())
		}
		posterSigns := signedHeaderNames(fromPoster)
		for _, h := range signedHeaderNames(fromSDK) {
			if !strings.HasPrefix(h, "amz-sdk-") && h != "content-type" && !slices.Contains(posterSigns, h) {
				t.Errorf("%s: the SDK client signs %s, the Poster does not (it signs %v)", call, h, posterSigns)
			}
		}
	}
}

// signedHeaderNames returns the SignedHeaders of r's Authorization.
func signedHeaderNames(r *http.Request) []string {
	_, rest, _ := strings.Cut(r.Header.Get("Authorization"), "SignedHeaders=")
	names, _, _ := strings.Cut(rest, ",")
	return strings.Split(names, ";")
}
