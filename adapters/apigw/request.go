package apigw

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// connectionsURL is the URL of an endpoint's connections, parsed once. A call's URL is
// it with the connection id after it; http.NewRequest would parse the whole URL again
// on every call, and smithy-go's EscapePath escape the id with a fmt.Fprintf a byte.
type connectionsURL struct {
	// url is the endpoint's URL ending in /@connections/, as net/http parses it.
	url url.URL
	// host is the Host of a request to it, as http.NewRequest sets it.
	host string
	// escaped is url's path as sent, ending in /@connections/.
	escaped string
}

func newConnectionsURL(endpoint string) (connectionsURL, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint+"/@connections/", nil)
	if err != nil {
		return connectionsURL{}, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	return connectionsURL{url: *req.URL, host: req.Host, escaped: req.URL.EscapedPath()}, nil
}

// outgoing is what a request is made of beside the http.Request, allocated together.
type outgoing struct {
	url  url.URL
	body bytes.Reader
}

// request returns the call of method on the connection id with body, as
// http.NewRequestWithContext returns it for the connection's URL, and the request's
// path as sent (its URL's EscapedPath), which SigV4 signs. The id is escaped as the SDK
// escapes it: every byte but the unreserved ones, '=' and '/' too (FuzzSigner compares
// the two requests).
func (c *connectionsURL) request(ctx context.Context, method, id string, body []byte) (*http.Request, string) {
	// The path and the path as sent share one string, one allocation.
	var idBuf [64]byte
	paths := c.url.Path + id + c.escaped + string(appendEscaped(idBuf[:0], id, true))
	o := &outgoing{url: c.url}
	o.url.Path = paths[:len(c.url.Path)+len(id)]
	// RawPath is the path as sent: net/http sends it as it is, for it is a valid
	// escaping of Path, where escaping Path again would leave '=' as it is.
	o.url.RawPath = paths[len(o.url.Path):]
	req := &http.Request{
		Method:     method,
		URL:        &o.url,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, 3),
		Host:       c.host,
		Body:       http.NoBody,
		GetBody:    noBody,
	}
	if len(body) > 0 {
		// The body is a *bytes.Reader wrapped by io.NopCloser, as http.NewRequest makes
		// it: net/http writes such a known in-memory body with its headers, in one write.
		o.body.Reset(body)
		req.Body = io.NopCloser(&o.body)
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return req.WithContext(ctx), o.url.RawPath
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }
