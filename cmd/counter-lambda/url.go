package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// ServeURL answers a request to the function URL with Page, as an HTTP request made of
// the event (its method, path, query string, headers, cookies and body).
func (f *Function) ServeURL(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	r, err := httpRequest(ctx, req)
	if err != nil {
		return events.LambdaFunctionURLResponse{}, err
	}
	w := &urlResponse{header: http.Header{}}
	f.Page.ServeHTTP(w, r)
	if r.Method == http.MethodHead {
		w.body.Reset() // as net/http's server does
	}
	resp := w.response()
	f.logger().InfoContext(ctx, "invocation", "event", "function_url", "method", r.Method, "path", r.URL.Path, "status", resp.StatusCode)
	return resp, nil
}

// httpRequest is the HTTP request a function URL received, made of its event.
func httpRequest(ctx context.Context, req events.LambdaFunctionURLRequest) (*http.Request, error) {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return nil, fmt.Errorf("function URL request: body: %w", err)
		}
	}
	target := "https://" + req.RequestContext.DomainName + req.RawPath
	if req.RawQueryString != "" {
		target += "?" + req.RawQueryString
	}
	r, err := http.NewRequestWithContext(ctx, req.RequestContext.HTTP.Method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("function URL request %s %s: %w", req.RequestContext.HTTP.Method, req.RawPath, err)
	}
	// The event joins a header's values with commas, and puts the cookies apart.
	for name, value := range req.Headers {
		r.Header.Set(name, value)
	}
	if len(req.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(req.Cookies, "; "))
	}
	r.RemoteAddr = req.RequestContext.HTTP.SourceIP
	return r, nil
}

// urlResponse is the http.ResponseWriter of a function URL's answer.
type urlResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

var _ http.ResponseWriter = (*urlResponse)(nil)

// Header returns the response's headers.
func (w *urlResponse) Header() http.Header { return w.header }

// WriteHeader sets the status, once.
func (w *urlResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

// Write appends to the body.
func (w *urlResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// response is the answer as a function URL takes it: a header's values joined with
// commas, the cookies apart, a body that is not UTF-8 in base64.
func (w *urlResponse) response() events.LambdaFunctionURLResponse {
	w.WriteHeader(http.StatusOK)
	resp := events.LambdaFunctionURLResponse{StatusCode: w.status, Headers: map[string]string{}, Cookies: w.header.Values("Set-Cookie")}
	for name, values := range w.header {
		if name != "Set-Cookie" {
			resp.Headers[name] = strings.Join(values, ",")
		}
	}
	body := w.body.Bytes()
	if utf8.Valid(body) {
		resp.Body = string(body)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return resp
}
