package apigw_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// BenchmarkPostToConnection measures one post against a server that answers at once:
// through the Poster, signed as in production and unsigned as for a local gateway,
// through the SDK's apigatewaymanagementapi client (signed), and made with plain
// net/http. The differences are each client's own cost per frame.
//
//	go test -run '^$' -bench PostToConnection ./adapters/apigw/
func BenchmarkPostToConnection(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)
	frame := []byte(`{"type":"announcement","text":"a broadcast to every connected user"}`)
	signed := aws.Config{Region: "eu-west-1", Credentials: credentials(testCreds)}

	for _, c := range []struct {
		name   string
		awsCfg aws.Config
	}{{"poster=signed", signed}, {"poster=unsigned", apigw.LocalConfig("")}} {
		b.Run(c.name, func(b *testing.B) {
			p, err := apigw.New(c.awsCfg, apigw.Config{Endpoint: srv.URL})
			if err != nil {
				b.Fatal(err)
			}
			runParallel(b, p, frame)
		})
	}
	b.Run("sdk-client", func(b *testing.B) {
		client := apigatewaymanagementapi.NewFromConfig(signed, func(o *apigatewaymanagementapi.Options) {
			o.BaseEndpoint = aws.String(srv.URL)
			o.Retryer = aws.NopRetryer{}
		})
		runParallel(b, posterFunc(func(ctx context.Context, id string, frame []byte) error {
			_, err := client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: frame})
			return err
		}), frame)
	})
	b.Run("plain", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
		runParallel(b, posterFunc(func(ctx context.Context, id string, frame []byte) error {
			resp, err := client.Post(srv.URL+"/@connections/L0SM9cOFvHcCIhw%3D", "application/json", bytes.NewReader(frame))
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		}), frame)
	})
}

type posterFunc func(ctx context.Context, id string, frame []byte) error

func (f posterFunc) PostToConnection(ctx context.Context, id string, frame []byte) error {
	return f(ctx, id, frame)
}

func runParallel(b *testing.B, p handlers.Poster, frame []byte) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := p.PostToConnection(context.Background(), "L0SM9cOFvHcCIhw=", frame); err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkSign measures what signing costs a post, alone: the Poster's (its
// credentials cache, its frame's hash, its signer) and the same with aws-sdk-go-v2's
// SignHTTP in its signer's place (the credentials from the same cache, the hash already
// made), with long-lived keys and with a role's session token, whose 1 KB the canonical
// request hashes. The request is made once and its headers cleared each time, so only
// the signing is measured.
//
//	go test -run '^$' -bench Sign -benchmem ./adapters/apigw/
func BenchmarkSign(b *testing.B) {
	frame := []byte(`{"type":"announcement","text":"a broadcast to every connected user"}`)
	sum := sha256.Sum256(frame)
	payloadHash := hex.EncodeToString(sum[:])
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		creds aws.Credentials
	}{
		{"creds=keys", testCreds},
		{"creds=session", aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: testCreds.SecretAccessKey, SessionToken: strings.Repeat("IQoJb3JpZ2luX2Vj", 64)}},
	} {
		awsCfg := aws.Config{Region: "eu-west-1", Credentials: aws.NewCredentialsCache(credentials(c.creds))}
		req, err := http.NewRequest(http.MethodPost, "https://abc.execute-api.eu-west-1.amazonaws.com/prod/@connections/L0SM9cOFvHcCIhw%3D", bytes.NewReader(frame))
		if err != nil {
			b.Fatal(err)
		}
		path := req.URL.EscapedPath()
		b.Run(c.name+"/signer=poster", func(b *testing.B) {
			p, err := apigw.New(awsCfg, apigw.Config{Endpoint: "https://abc.execute-api.eu-west-1.amazonaws.com/prod"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				clear(req.Header)
				if err := p.Sign(ctx, req, path, frame); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/signer=sdk", func(b *testing.B) {
			signer := v4.NewSigner()
			b.ReportAllocs()
			for b.Loop() {
				clear(req.Header)
				creds, err := awsCfg.Credentials.Retrieve(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := signer.SignHTTP(ctx, creds, req, payloadHash, "execute-api", "eu-west-1", time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
