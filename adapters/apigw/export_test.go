package apigw

import (
	"context"
	"net/http"
)

// Sign signs req, whose escaped path is path and whose body is body, as p signs a call
// before it makes it: the credentials from its cache, the frame's hash from its own,
// the signature at its clock. For BenchmarkSign.
func (p *Poster) Sign(ctx context.Context, req *http.Request, path string, body []byte) error {
	_, err := p.sign(ctx, req, path, body)
	return err
}
