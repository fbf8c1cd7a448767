package apigw

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// signer signs the Management API's calls with SigV4 for execute-api, byte for byte as
// aws-sdk-go-v2's v4.Signer.SignHTTP does (FuzzSigner compares the two), at the cost of
// about two hashes a call. SignHTTP builds the canonical request through a dozen
// strings, a header map and a sorted list, escapes the path with a fmt.Fprintf a byte,
// and looks its derived key up in a locked map: 6 µs and 43 allocations a signature
// alone (BenchmarkSign), about 19 µs of CPU a frame in a broadcast (issue 19). But a
// Poster's calls differ only in their method, path, length, payload hash and time, so
// the rest is paid once:
//   - the signing key depends on the secret, the UTC date and the region alone ("Derive
//     a signing key", below): it is derived once a day, and again when the credentials
//     change (SignHTTP's cache keeps a key for its access key's day, whatever the
//     secret);
//   - the X-Amz-Date of a second is formatted once;
//   - the canonical request and the string to sign are written into a pooled buffer,
//     hashed there, and the Authorization header is its one new string: two
//     allocations a signature.
//
// It signs what the Poster sends: a request whose headers are none but those sign sets,
// with no query. It is safe for concurrent use.
//
// The steps are those of "Create a signed AWS API request" in the IAM user guide
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
// create a canonical request, create the string to sign (its hash, the time and the
// credential scope), derive the signing key, sign, add the Authorization header.
type signer struct {
	region string
	// key is the signing key of the last credentials and date signed with.
	key atomic.Pointer[signingKey]
	// stamp is the X-Amz-Date of the last second signed at.
	stamp atomic.Pointer[amzDate]
	// bufs are the buffers the canonical request is written into (*signBuffer).
	bufs sync.Pool
}

func newSigner(region string) *signer {
	return &signer{region: region, bufs: sync.Pool{New: func() any { return new(signBuffer) }}}
}

// signBuffer is where one signature is built: the canonical request, then the string
// to sign over it, then the Authorization header over that.
type signBuffer struct {
	b   []byte
	sum [sha256.Size]byte
}

// The names of the signed headers, sorted as SigV4 wants. The host and X-Amz-Date are
// always signed, the length when there is a body and the session token when there is
// one, as SignHTTP does. X-Amz-Content-Sha256 is not sent: SignHTTP never sets it, and
// the apigatewaymanagementapi client does not add the middleware that would (its
// addContentSHA256Header is never called), so API Gateway gets none from the SDK either
// (TestSignedHeadersAsTheSDKClient).
const (
	signedHeaders            = "host;x-amz-date"
	signedHeadersToken       = "host;x-amz-date;x-amz-security-token"
	signedHeadersLength      = "content-length;host;x-amz-date"
	signedHeadersLengthToken = "content-length;host;x-amz-date;x-amz-security-token"
)

const (
	signingAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFormat    = "20060102T150405Z"
)

// sign sets req's X-Amz-Date, X-Amz-Security-Token (for credentials with a session
// token) and Authorization for a call signed with creds at at, whose body's hex SHA-256
// is payloadHash. path is req.URL.EscapedPath(), which the caller knows without the
// unescaping that computing it again costs. As SignHTTP does, it drops a default port
// from req.Host, which the canonical request signs and the transport sends.
func (s *signer) sign(req *http.Request, path string, creds aws.Credentials, payloadHash string, at time.Time) {
	stamp := s.stampAt(at)
	key := s.keyFor(creds, stamp.date)
	host := sanitizeHost(req)
	token := creds.SessionToken
	signed := signedHeaders
	switch {
	case req.ContentLength > 0 && token != "":
		signed = signedHeadersLengthToken
	case req.ContentLength > 0:
		signed = signedHeadersLength
	case token != "":
		signed = signedHeadersToken
	}

	buf := s.bufs.Get().(*signBuffer)
	defer s.bufs.Put(buf)
	// "Create a canonical request": the method, the URI encoded once more (every service
	// but S3 signs the path as sent, encoded again), the query (none), the headers,
	// lowercased, sorted, their values trimmed and their runs of spaces made one, the
	// names of the signed headers, and the payload's hash.
	b := append(buf.b[:0], req.Method...)
	b = append(b, '\n')
	b = appendEscaped(b, path, false)
	b = append(b, "\n\n"...)
	if req.ContentLength > 0 {
		b = append(b, "content-length:"...)
		b = strconv.AppendInt(b, req.ContentLength, 10)
		b = append(b, '\n')
	}
	b = append(b, "host:"...)
	b = appendCollapsed(b, host)
	b = append(b, "\nx-amz-date:"...)
	b = append(b, stamp.text...)
	b = append(b, '\n')
	if token != "" {
		b = append(b, "x-amz-security-token:"...)
		b = appendCollapsed(b, strings.TrimSpace(token))
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, signed...)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	buf.sum = sha256.Sum256(b)

	// "Create a string to sign": the algorithm, the time, the scope, the hash of the
	// canonical request; and its HMAC with the signing key is the signature.
	b = append(b[:0], signingAlgorithm+"\n"...)
	b = append(b, stamp.text...)
	b = append(b, '\n')
	b = append(b, key.scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, buf.sum[:])
	mac := key.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(b)
	sum := mac.Sum(buf.sum[:0])
	key.macs.Put(mac)

	b = append(b[:0], key.credential...)
	b = append(b, signed...)
	b = append(b, ", Signature="...)
	b = hex.AppendEncode(b, sum)
	buf.b = b

	// One array holds the three headers' values, as SignHTTP sets them.
	values := &[3]string{stamp.text, string(b), token}
	req.Header["X-Amz-Date"] = values[0:1:1]
	if token != "" {
		req.Header["X-Amz-Security-Token"] = values[2:3:3]
	}
	req.Header["Authorization"] = values[1:2:2]
}

// amzDate is a signing time to the second, formatted for X-Amz-Date.
type amzDate struct {
	unix int64
	// text is the X-Amz-Date, such as 20261231T235959Z.
	text string
	// date is the credential scope's date, such as 20261231: text up to its T.
	date string
}

// stampAt returns the X-Amz-Date of at, formatted once a second. It is formatted as
// SignHTTP formats it, by time.Format in UTC, so that even years of other than four
// digits read the same.
func (s *signer) stampAt(at time.Time) *amzDate {
	sec := at.Unix()
	if d := s.stamp.Load(); d != nil && d.unix == sec {
		return d
	}
	text := at.UTC().Format(amzDateFormat)
	d := &amzDate{unix: sec, text: text, date: text[:strings.LastIndexByte(text, 'T')]}
	s.stamp.Store(d)
	return d
}

// signingKey is the signing key of one access key, secret, date and region, and what
// the signatures made with it share.
type signingKey struct {
	accessKey, secret, date string
	// scope is the credential scope: date/region/execute-api/aws4_request.
	scope string
	// credential starts the Authorization header, up to the signed headers' names.
	credential string
	// macs are HMAC-SHA256 hashes keyed with the signing key (hash.Hash), reused: their
	// Reset starts from the key's padded state without hashing it again.
	macs sync.Pool
}

// keyFor returns the signing key of creds on date, derived when the credentials or the
// date changed since the last signature. Two calls that race at midnight or on a
// credentials refresh may each derive one; the last stored wins, and the other signs
// its own call correctly all the same.
func (s *signer) keyFor(creds aws.Credentials, date string) *signingKey {
	if k := s.key.Load(); k != nil && k.date == date && k.secret == creds.SecretAccessKey && k.accessKey == creds.AccessKeyID {
		return k
	}
	// "Derive a signing key": kDate = HMAC("AWS4" + secret, date), kRegion =
	// HMAC(kDate, region), kService = HMAC(kRegion, service), kSigning =
	// HMAC(kService, "aws4_request"). It depends on the date, the region and the service
	// alone, which is why it can be kept for the day.
	key := hmacSHA256([]byte("AWS4"+creds.SecretAccessKey), date)
	key = hmacSHA256(key, s.region)
	key = hmacSHA256(key, signingName)
	key = hmacSHA256(key, "aws4_request")
	scope := date + "/" + s.region + "/" + signingName + "/aws4_request"
	k := &signingKey{
		accessKey:  creds.AccessKeyID,
		secret:     creds.SecretAccessKey,
		date:       date,
		scope:      scope,
		credential: signingAlgorithm + " Credential=" + creds.AccessKeyID + "/" + scope + ", SignedHeaders=",
	}
	k.macs.New = func() any { return hmac.New(sha256.New, key) }
	s.key.Store(k)
	return k
}

func hmacSHA256(key []byte, data string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

// sanitizeHost returns the host SignHTTP signs for req, and drops a default port from
// req.Host as it does (its SanitizeHostForHeader): "host:443" over https is signed and
// sent as "host", and a Host it strips to nothing leaves the URL's to sign and send.
func sanitizeHost(req *http.Request) string {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	port := ""
	if i := strings.Index(host, "]:"); i >= 0 {
		port = host[i+2:]
	} else if i := strings.IndexByte(host, ':'); i >= 0 && !strings.Contains(host, "]") {
		port = host[i+1:]
	}
	if port == "" || !isDefaultPort(req.URL.Scheme, port) {
		return host
	}
	if i := strings.IndexByte(host, ']'); i >= 0 {
		host = strings.TrimPrefix(host[:i], "[")
	} else {
		host = host[:strings.IndexByte(host, ':')]
	}
	req.Host = host
	if host == "" {
		// A host of nothing but a bracket and a default port ("]:80") strips to
		// nothing: SignHTTP then signs the URL's host, which the transport sends.
		return req.URL.Host
	}
	return host
}

func isDefaultPort(scheme, port string) bool {
	scheme = strings.ToLower(scheme)
	return (scheme == "http" && port == "80") || (scheme == "https" && port == "443")
}

// appendCollapsed appends v without its leading and trailing spaces and with each run of
// spaces made one, as SigV4 canonicalizes a header's value (SignHTTP's
// StripExcessSpaces).
func appendCollapsed(b []byte, v string) []byte {
	v = strings.Trim(v, " ")
	for {
		i := strings.Index(v, "  ")
		if i < 0 {
			return append(b, v...)
		}
		b = append(b, v[:i+1]...)
		v = strings.TrimLeft(v[i:], " ")
	}
}

// appendEscaped appends s URI-encoded as SigV4's UriEncode() wants: every byte but the
// unreserved A-Z, a-z, 0-9, '-', '.', '_' and '~' as %XX in upper-case hex, and '/'
// too when encodeSep is set. It is smithy-go's httpbinding.EscapePath, which the SDK
// escapes a connection id and then its canonical path with, without its allocations.
func appendEscaped(b []byte, s string, encodeSep bool) []byte {
	const upperhex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (c == '/' && !encodeSep) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return b
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
