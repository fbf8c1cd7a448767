package apigw

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"
)

// signerCase is one input of FuzzSigner: a call on a connection of a Management API
// endpoint, signed with credentials at a time and again later.
type signerCase struct {
	id                       string
	body                     []byte
	accessKey, secret, token string
	region                   string
	https                    bool
	host                     string
	port                     uint16 // 0: none
	base                     string // the endpoint's base path, such as /prod
	delete                   bool
	at                       int64 // Unix nanoseconds
	laterSeconds             int64 // the second signature's time, after at
}

// signerCases are FuzzSigner's seeds, which its corpus in testdata/fuzz/FuzzSigner holds
// too (TestSignerCorpus), one file a case, for .ci/fuzz to start from.
var signerCases = map[string]signerCase{
	"api gateway id": {
		id: "L0SM9cOFvHcCIhw=", body: []byte(`{"text":"hi"}`), accessKey: "AKIDEXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		region: "eu-west-1", https: true, host: "abc123.execute-api.eu-west-1.amazonaws.com", base: "/prod",
		at: time.Date(2026, 12, 7, 10, 11, 12, 0, time.UTC).UnixNano(), laterSeconds: 1,
	},
	"session token": {
		id: "L0SM9cOFvHcCIhw=", body: []byte(`{"n":1}`), accessKey: "ASIAEXAMPLE", secret: "secret/with+slash=",
		token:  "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+abc/def==",
		region: "us-east-1", https: true, host: "abc123.execute-api.us-east-1.amazonaws.com", base: "/prod",
		at: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC).UnixNano(), laterSeconds: 3600,
	},
	"just before midnight": {
		id: "Ab+/cd==", body: []byte(`{"at":"23:59:59"}`), accessKey: "AKIDEXAMPLE", secret: "midnight-secret", token: "token-a",
		region: "ap-southeast-2", https: true, host: "abc.execute-api.ap-southeast-2.amazonaws.com", base: "/prod",
		at: time.Date(2026, 6, 14, 23, 59, 59, 999_999_999, time.UTC).UnixNano(), laterSeconds: 1,
	},
	"just after midnight": {
		id: "Ab+/cd==", body: []byte(`{"at":"00:00:00"}`), accessKey: "AKIDEXAMPLE", secret: "midnight-secret", token: "token-a",
		region: "ap-southeast-2", https: true, host: "abc.execute-api.ap-southeast-2.amazonaws.com", base: "/prod",
		at: time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC).UnixNano(), laterSeconds: 86399,
	},
	"year end": {
		id: "year=end", body: []byte(`{"happy":"new year"}`), accessKey: "AKIDEXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		region: "eu-central-1", https: true, host: "abc.execute-api.eu-central-1.amazonaws.com", base: "/prod",
		at: time.Date(2026, 12, 31, 23, 59, 59, 500_000_000, time.UTC).UnixNano(), laterSeconds: 1,
	},
	"leap day": {
		id: "leap", body: []byte(`{}`), accessKey: "AKIDEXAMPLE", secret: "s",
		region: "eu-west-3", https: true, host: "abc.execute-api.eu-west-3.amazonaws.com", base: "/dev",
		at: time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC).UnixNano(), laterSeconds: 43200,
	},
	"custom domain base path": {
		id: "a%b c", body: []byte(`{"to":"a%b c"}`), accessKey: "AKIDEXAMPLE", secret: "s3cr3t",
		region: "eu-west-1", https: true, host: "ws.example.com", base: "/chat/v1",
		at: time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano(), laterSeconds: 60,
	},
	"custom domain at its root on port 443": {
		id: "héllo/wörld=", body: []byte(`{"msg":"ünïcode"}`), accessKey: "AKIDEXAMPLE", secret: "s3cr3t", token: "tok",
		region: "sa-east-1", https: true, host: "WS.Example.com", port: 443,
		at: time.Date(2026, 9, 30, 23, 59, 59, 0, time.UTC).UnixNano(), laterSeconds: 2,
	},
	"http with a port": {
		id: "local+id==", body: []byte(`{"local":true}`), accessKey: "AKID", secret: "local",
		region: "us-east-1", host: "127.0.0.1", port: 8080, base: "/prod",
		at: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), laterSeconds: 1,
	},
	"http on port 80": {
		id: "id", body: []byte(`x`), accessKey: "AKID", secret: "s",
		region: "us-west-2", host: "gateway.internal", port: 80,
		at: time.Date(2026, 4, 5, 6, 7, 8, 0, time.UTC).UnixNano(), laterSeconds: 1,
	},
	"delete": {
		id: "L0SM9cOFvHcCIhw=", accessKey: "ASIAEXAMPLE", secret: "s", token: "tok==",
		region: "eu-west-1", https: true, host: "abc.execute-api.eu-west-1.amazonaws.com", base: "/prod", delete: true,
		at: time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC).UnixNano(), laterSeconds: 1,
	},
	"spaces in the token": {
		id: "id", body: []byte("not json, any bytes"), accessKey: "AKID", secret: "s", token: "  a  b   c ",
		region: "eu-north-1", https: true, host: "abc.execute-api.eu-north-1.amazonaws.com", base: "/prod",
		at: time.Date(2026, 7, 8, 9, 10, 11, 0, time.UTC).UnixNano(), laterSeconds: 1,
	},
	"ipv6 host": {
		id: "v6=", body: []byte(`{}`), accessKey: "AKID", secret: "s",
		region: "us-east-1", host: "[::1]", port: 9000, base: "/prod",
		at: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC).UnixNano(), laterSeconds: 1,
	},
}

// FuzzSigner makes calls as the Poster makes them (connectionsURL, signer) and as
// aws-sdk-go-v2 does (the id escaped by httpbinding.EscapePath, the URL parsed by
// http.NewRequest, v4.Signer.SignHTTP), the reference API Gateway agrees with, and wants
// the same request from both, byte for byte: the same headers (Authorization,
// X-Amz-Date, X-Amz-Security-Token and any other the SDK would set), the same URL, path
// and host sent, and the same body, sent again too. Each input is signed twice with the same signer, at its time and later, so that
// a signing key kept past midnight or past a change of credentials shows; and the
// signer lives across inputs, as the Poster's does.
func FuzzSigner(f *testing.F) {
	for _, c := range signerCases {
		f.Add(c.id, c.body, c.accessKey, c.secret, c.token, c.region, c.https, c.host, c.port, c.base, c.delete, c.at, c.laterSeconds)
	}
	signers := map[string]*signer{}
	f.Fuzz(func(t *testing.T, id string, body []byte, accessKey, secret, token, region string,
		https bool, host string, port uint16, base string, del bool, at, laterSeconds int64) {
		c := signerCase{id, body, accessKey, secret, token, region, https, host, port, base, del, at, laterSeconds}
		endpoint, ok := c.endpoint()
		if !ok {
			return
		}
		s := signers[region]
		if s == nil {
			s = newSigner(region)
			signers[region] = s
		}
		creds := aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secret, SessionToken: token}
		first := time.Unix(0, at)
		for _, signedAt := range []time.Time{first, first.Add(time.Duration(laterSeconds) * time.Second)} {
			want, ok := c.sdkSigned(t, endpoint, creds, signedAt)
			if !ok {
				return
			}
			checkSigned(t, c.signed(t, s, endpoint, creds, signedAt), want)
		}
	})
}

// endpoint returns the case's Management API endpoint, as Config takes it, and whether
// it is one the Poster runs with.
func (c signerCase) endpoint() (string, bool) {
	scheme := "http://"
	if c.https {
		scheme = "https://"
	}
	host := c.host
	if c.port != 0 {
		host += ":" + strconv.Itoa(int(c.port))
	}
	base := c.base
	if base != "" && !strings.HasPrefix(base, "/") {
		base = "/" + base
	}
	cfg := Config{Endpoint: scheme + host + base}
	cfg.setDefaults()
	return cfg.Endpoint, cfg.Validate() == nil
}

// method is the case's HTTP method: DELETE disconnects, POST posts.
func (c signerCase) method() string {
	if c.delete {
		return http.MethodDelete
	}
	return http.MethodPost
}

// sdkSigned returns the case's call made as aws-sdk-go-v2 makes it (the connection id
// escaped by httpbinding.EscapePath, the URL parsed by net/http) and signed by SignHTTP
// at signedAt; false for an endpoint whose base path Go escapes again, an endpoint
// no API Gateway has (a stage or base path mapping is made of URL-safe characters),
// which sends the id as Go escapes it rather than as AWS does.
func (c signerCase) sdkSigned(t *testing.T, endpoint string, creds aws.Credentials, signedAt time.Time) (*http.Request, bool) {
	t.Helper()
	escaped := httpbinding.EscapePath(c.id, true)
	req, err := http.NewRequest(c.method(), endpoint+"/@connections/"+escaped, bytes.NewReader(c.body))
	if err != nil || !strings.HasSuffix(req.URL.EscapedPath(), "/@connections/"+escaped) {
		return nil, false
	}
	sum := sha256.Sum256(c.body)
	// A signer of its own each time: the SDK's keeps a derived key for the access key's
	// day, whatever its secret, and the inputs change the secret under the same key.
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), signingName, c.region, signedAt); err != nil {
		t.Fatalf("the SDK's signer: %v", err)
	}
	return req, true
}

// signed returns the case's call as the Poster makes it, signed by s at signedAt.
func (c signerCase) signed(t *testing.T, s *signer, endpoint string, creds aws.Credentials, signedAt time.Time) *http.Request {
	t.Helper()
	req := c.unsigned(t, endpoint)
	var hashes frameHashes
	s.sign(req, req.URL.EscapedPath(), creds, hashes.of(c.body), signedAt)
	return req
}

// unsigned returns the case's call as the Poster makes it, not signed yet.
func (c signerCase) unsigned(t *testing.T, endpoint string) *http.Request {
	t.Helper()
	connections, err := newConnectionsURL(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	req, path := connections.request(context.Background(), c.method(), c.id, c.body)
	if path != req.URL.EscapedPath() {
		t.Fatalf("request's path %q, its URL's %q", path, req.URL.EscapedPath())
	}
	return req
}

// checkSigned compares the request the Poster would send with the SDK's.
func checkSigned(t *testing.T, got, want *http.Request) {
	t.Helper()
	if !reflect.DeepEqual(got.Header, want.Header) {
		t.Errorf("headers differ from the SDK signer's:\n got %q\nwant %q", got.Header, want.Header)
	}
	for _, f := range []struct{ name, got, want string }{
		{"method", got.Method, want.Method},
		{"URL", got.URL.String(), want.URL.String()},
		{"escaped path", got.URL.EscapedPath(), want.URL.EscapedPath()},
		{"request URI", got.URL.RequestURI(), want.URL.RequestURI()},
		{"host", got.Host, want.Host},
		{"URL host", got.URL.Host, want.URL.Host},
		{"content length", strconv.FormatInt(got.ContentLength, 10), strconv.FormatInt(want.ContentLength, 10)},
		{"body", readBody(t, got.Body), readBody(t, want.Body)},
		{"body to send again", readBody(t, getBody(t, got)), readBody(t, getBody(t, want))},
		{"no body", strconv.FormatBool(got.Body == http.NoBody), strconv.FormatBool(want.Body == http.NoBody)},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, the SDK's %q", f.name, f.got, f.want)
		}
	}
}

// readBody reads body.
func readBody(t *testing.T, body io.ReadCloser) string {
	t.Helper()
	if body == nil {
		return "<none>"
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// getBody returns req's body made again by its GetBody, as the transport makes it to
// send a request again.
func getBody(t *testing.T, req *http.Request) io.ReadCloser {
	t.Helper()
	if req.GetBody == nil {
		return nil
	}
	body, err := req.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	return body
}

var writeCorpus = flag.Bool("write-corpus", false, "write FuzzSigner's seeds to testdata/fuzz/FuzzSigner")

// TestSignerCorpus checks that testdata/fuzz/FuzzSigner holds signerCases, one file a
// case named for it, as go test fuzz v1 encodes them; -write-corpus writes them:
//
//	go test -run TestSignerCorpus ./adapters/apigw/ -args -write-corpus
func TestSignerCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzSigner")
	for name, c := range signerCases {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		want := c.corpusFile()
		if *writeCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s does not hold the seed %q (%v): run with -args -write-corpus", path, name, err)
		}
	}
}

// corpusFile encodes c as the fuzzing engine does (go test fuzz v1).
func (c signerCase) corpusFile() []byte {
	b := []byte("go test fuzz v1\n")
	for _, v := range []any{c.id, c.body, c.accessKey, c.secret, c.token, c.region, c.https, c.host, c.port, c.base, c.delete, c.at, c.laterSeconds} {
		switch v := v.(type) {
		case string:
			b = fmt.Appendf(b, "string(%q)\n", v)
		case []byte:
			b = fmt.Appendf(b, "[]byte(%q)\n", v)
		default:
			b = fmt.Appendf(b, "%T(%v)\n", v, v)
		}
	}
	return b
}
