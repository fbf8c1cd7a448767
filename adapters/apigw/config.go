package apigw

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Config configures a Poster.
type Config struct {
	// Endpoint is the Management API's URL (APIGW_ENDPOINT), such as
	// https://abc.execute-api.eu-west-1.amazonaws.com/prod, or http://127.0.0.1:8080 for
	// package localgateway.
	Endpoint string
	// MaxConns is how many idle connections to the endpoint the HTTP transport keeps: as
	// many as the post stage keeps posts in flight, so none is redialled. Zero means pipeline.DefaultPostConcurrency.
	MaxConns int
}

func (c *Config) setDefaults() {
	c.Endpoint = strings.TrimRight(c.Endpoint, "/")
	c.MaxConns = cmp.Or(c.MaxConns, pipeline.DefaultPostConcurrency)
}

// Validate reports a configuration the poster cannot run with.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		// A host of a port alone (http://:80) names no gateway, and its signature
		// would differ from the SDK's, which signs such a host otherwise (FuzzSigner).
		errs = append(errs, fmt.Errorf("endpoint %q is not an absolute http(s) URL with a host", c.Endpoint))
	} else if u.User != nil {
		// net/http would send it as basic authentication, to AWS.
		errs = append(errs, fmt.Errorf("endpoint %q has a user", c.Endpoint))
	} else if strings.ContainsAny(c.Endpoint, "?#") {
		// The connections' paths follow the endpoint's: after a query they would be in it.
		errs = append(errs, fmt.Errorf("endpoint %q has a query or fragment", c.Endpoint))
	}
	if c.MaxConns < 0 {
		errs = append(errs, errors.New("max conns is negative"))
	}
	return errors.Join(errs...)
}

// LocalConfig returns the AWS configuration for a gateway that checks no signature, such
// as package localgateway's: with anonymous credentials the client skips SigV4 signing,
// so no AWS account is needed. An empty region means us-east-1.
func LocalConfig(region string) aws.Config {
	if region == "" {
		region = "us-east-1"
	}
	return aws.Config{Region: region, Credentials: aws.AnonymousCredentials{}}
}
