// Package apigw posts frames to WebSocket clients through API Gateway's Management API,
// with aws-sdk-go-v2's apigatewaymanagementapi client. It implements handlers.Poster.
package apigw

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Poster sends frames to connections through the Management API. It is safe for
// concurrent use. The caller's context bounds a call: the pipeline's PostTimeout does.
type Poster struct {
	client *apigatewaymanagementapi.Client
}

var _ handlers.Poster = (*Poster)(nil)

// New returns a Poster on the endpoint of cfg, signing with awsCfg's credentials (see
// LocalConfig for a local gateway). The client does not retry: the pipeline does.
func New(awsCfg aws.Config, cfg Config) (*Poster, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("apigw config: %w", err)
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = cfg.MaxConns
		t.MaxIdleConnsPerHost = cfg.MaxConns
		t.MaxConnsPerHost = 0
	})
	client := apigatewaymanagementapi.NewFromConfig(awsCfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(cfg.Endpoint)
		o.HTTPClient = httpClient
		o.Retryer = aws.NopRetryer{}
	})
	return &Poster{client: client}, nil
}

// PostToConnection sends frame to the connection as one text frame. It returns an error
// wrapping handlers.ErrGone for a connection the gateway no longer knows, one wrapping
// handlers.ErrThrottled for a post the gateway throttled (429), a
// handlers.PermanentError for a post no retry can pass (too large, forbidden, any other
// 4xx but 408 and 429), and any other error as it is, to be retried.
func (p *Poster) PostToConnection(ctx context.Context, connectionID string, frame []byte) error {
	_, err := p.client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(connectionID),
		Data:         frame,
	})
	if err != nil {
		return fmt.Errorf("post to connection %s: %w", connectionID, classify(err))
	}
	return nil
}

// DeleteConnection disconnects the client. Its errors are those of PostToConnection.
func (p *Poster) DeleteConnection(ctx context.Context, connectionID string) error {
	_, err := p.client.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{
		ConnectionId: aws.String(connectionID),
	})
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", connectionID, classify(err))
	}
	return nil
}

// classify marks err gone or permanent, as the post stage branches on it.
func classify(err error) error {
	var (
		gone      *types.GoneException
		tooLarge  *types.PayloadTooLargeException
		forbidden *types.ForbiddenException
		invalid   smithy.InvalidParamsError
	)
	status := statusCode(err)
	switch {
	case errors.As(err, &gone) || status == http.StatusGone:
		return fmt.Errorf("%w: %w", handlers.ErrGone, err)
	case errors.As(err, &tooLarge), errors.As(err, &forbidden), errors.As(err, &invalid):
		return handlers.Permanent(err)
	case status == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %w", handlers.ErrThrottled, err)
	case status >= 400 && status < 500 && status != http.StatusRequestTimeout:
		return handlers.Permanent(err)
	default: // 5xx, network errors and timeouts
		return err
	}
}

// statusCode returns the HTTP status of the response err came with, or 0 if none came.
func statusCode(err error) int {
	var resp interface{ HTTPStatusCode() int }
	if errors.As(err, &resp) {
		return resp.HTTPStatusCode()
	}
	return 0
}
