package apigw_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
