package awstest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SecretsAccountID is the account of the ARNs of the secrets and parameters a Secrets
// emulator holds.
const SecretsAccountID = "123456789012"

// The calls a Secrets emulator answers, by their X-Amz-Target.
const (
	targetGetSecretValue = "secretsmanager.GetSecretValue"
	targetGetParameter   = "AmazonSSM.GetParameter"
)

// Secrets emulates the two calls a deployment makes to read a secret: GetSecretValue of
// AWS Secrets Manager and GetParameter of SSM Parameter Store. It is an HTTP server on a
// free port of 127.0.0.1 speaking the AWS JSON 1.1 protocol as both services do (POST /,
// X-Amz-Target, Content-Type application/x-amz-json-1.1), so the SDK's own clients read
// its answers and errors, in the test's process or in one it starts (see Env).
//
// It checks what a client sends, not who sends it: a request needs a SigV4
// Authorization header scoped to the service it calls, but the signature is not
// verified. It answers only GetSecretValue and GetParameter; secrets and parameters are
// made with PutSecret, PutBinarySecret and PutParameter. A parameter's label selector
// (name:label) is not supported.
type Secrets struct {
	srv   *httptest.Server
	calls atomic.Int64

	mu      sync.Mutex
	secrets map[string]*secret    // by name
	params  map[string]*parameter // by name
	denied  map[string]bool       // by name
}

// secret is a Secrets Manager secret: its versions, the current one last.
type secret struct {
	arn      string
	versions []secretVersion
}

type secretVersion struct {
	id      string
	str     *string
	binary  []byte
	created time.Time
}

// parameter is an SSM parameter: its versions, numbered from 1, the latest last.
type parameter struct {
	arn      string
	versions []parameterVersion
}

type parameterVersion struct {
	typ      string // String or SecureString
	value    string
	modified time.Time
}

// StartSecrets starts a Secrets emulator, empty, until the test ends.
func StartSecrets(t TB) *Secrets {
	t.Helper()
	s := &Secrets{secrets: map[string]*secret{}, params: map[string]*parameter{}, denied: map[string]bool{}}
	// httptest.NewServer listens on 127.0.0.1 already; a listener of our own says so
	// for a reader who hands the URL to another process.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

// URL returns the endpoint of both services, such as http://127.0.0.1:41234.
func (s *Secrets) URL() string { return s.srv.URL }

// Env returns the environment variables that point the SDK of a process at the
// emulator for both services (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_SSM),
// with the static test credentials and Region: what a Lambda function under test,
// started as a process of its own, needs to read its secrets here. The SDK reads them
// with config.LoadDefaultConfig, the Lambda bootstrap with awsconfig.FromEnvironment.
func (s *Secrets) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": s.URL(),
		"AWS_ENDPOINT_URL_SSM":             s.URL(),
		"AWS_REGION":                       Region,
		"AWS_ACCESS_KEY_ID":                "test",
		"AWS_SECRET_ACCESS_KEY":            "test",
	}
}

// Config returns the configuration of Config with the emulator as BaseEndpoint, for
// clients made with NewFromConfig and for secrets.New.
func (s *Secrets) Config() aws.Config {
	cfg := Config()
	cfg.BaseEndpoint = aws.String(s.URL())
	return cfg
}

// SecretsManagerClient returns a Secrets Manager client of the emulator at endpoint,
// with the static test credentials of Config.
func SecretsManagerClient(endpoint string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(Config(), func(o *secretsmanager.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// SSMClient returns an SSM client of the emulator at endpoint, with the static test
// credentials of Config.
func SSMClient(endpoint string) *ssm.Client {
	return ssm.NewFromConfig(Config(), func(o *ssm.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// Calls returns how many GetSecretValue and GetParameter calls the emulator read, those
// answered with an error such as ResourceNotFoundException included (a request refused
// before it is read, such as an unsigned one, is not counted): a test can tell a cached
// secret from one read each time.
func (s *Secrets) Calls() int { return int(s.calls.Load()) }

// PutSecret stores value as the current version of the Secrets Manager secret name,
// making the secret if it is new (the previous version becomes AWSPREVIOUS), and
// returns the secret's ARN: arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX,
// where Secrets Manager adds six random characters.
func (s *Secrets) PutSecret(name, value string) string {
	return s.putSecret(name, secretVersion{str: &value})
}

// PutBinarySecret stores value as the current version of the secret name, a
// SecretBinary, as PutSecret does a SecretString, and returns the secret's ARN.
func (s *Secrets) PutBinarySecret(name string, value []byte) string {
	return s.putSecret(name, secretVersion{binary: append([]byte{}, value...)})
}

func (s *Secrets) putSecret(name string, v secretVersion) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.secrets[name]
	if !ok {
		sec = &secret{arn: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", Region, SecretsAccountID, name, randomSuffix())}
		s.secrets[name] = sec
	}
	v.id, v.created = newUUID(), time.Now()
	sec.versions = append(sec.versions, v)
	return sec.arn
}

// PutParameter stores value as a new version of the SSM parameter name, a SecureString
// if secure and a String otherwise, as PutParameter with Overwrite does, and returns
// the parameter's ARN: arn:aws:ssm:REGION:ACCOUNT:parameter/NAME, without the leading
// slash of a name such as /app/key.
func (s *Secrets) PutParameter(name, value string, secure bool) string {
	typ := "String"
	if secure {
		typ = "SecureString"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.params[name]
	if !ok {
		p = &parameter{arn: fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", Region, SecretsAccountID, strings.TrimPrefix(name, "/"))}
		s.params[name] = p
	}
	p.versions = append(p.versions, parameterVersion{typ: typ, value: value, modified: time.Now()})
	return p.arn
}

// Deny makes every call for the secret or parameter name (a name, not an ARN) fail with
// AccessDeniedException, as it does for a role whose policy does not allow it.
func (s *Secrets) Deny(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[name] = true
}

// awsError is an error as the AWS JSON protocol answers it: an HTTP status and a body
// {"__type": TYPE, message}. Secrets Manager spells its message member Message, SSM
// spells it message; each is written as its service's model has it. The types are
// those the references list: Secrets Manager's "GetSecretValue"
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html)
// and "Common Errors" (https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html),
// SSM's "GetParameter"
// (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html)
// and its "Common Errors"; each is an HTTP 400, as the references say.
type awsError struct {
	status  int
	typ     string
	msgKey  string
	message string
}

func errUnknownOperation(target string) *awsError {
	return &awsError{http.StatusBadRequest, "UnknownOperationException", "message", "operation " + target + " is not supported by the emulator"}
}

func errSerialization(msgKey, msg string) *awsError {
	return &awsError{http.StatusBadRequest, "SerializationException", msgKey, msg}
}

func errValidation(msgKey, field string) *awsError {
	return &awsError{http.StatusBadRequest, "ValidationException", msgKey,
		fmt.Sprintf("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must not be null", field)}
}

func errMissingAuth(msgKey string) *awsError {
	return &awsError{http.StatusBadRequest, "MissingAuthenticationTokenException", msgKey, "Missing Authentication Token"}
}

func errAccessDenied(msgKey, action, resource string) *awsError {
	return &awsError{http.StatusBadRequest, "AccessDeniedException", msgKey, fmt.Sprintf(
		"User: arn:aws:sts::%s:assumed-role/test/test is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		SecretsAccountID, action, resource, action)}
}

func (s *Secrets) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	var service, msgKey string
	switch target {
	case targetGetSecretValue:
		service, msgKey = "secretsmanager", "Message"
	case targetGetParameter:
		service, msgKey = "ssm", "message"
	default:
		writeAWSError(w, errUnknownOperation(target))
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeAWSError(w, errUnknownOperation(r.Method+" "+r.URL.Path))
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-amz-json-1.1" {
		writeAWSError(w, errSerialization(msgKey, "Content-Type "+r.Header.Get("Content-Type")+" is not application/x-amz-json-1.1"))
		return
	}
	// The credential scope names the service signed for: a request signed for another
	// service is refused by AWS before it is read.
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeAWSError(w, errMissingAuth(msgKey))
		return
	}
	if scope := "/" + service + "/aws4_request"; !strings.Contains(r.Header.Get("Authorization"), scope) {
		writeAWSError(w, &awsError{http.StatusBadRequest, "InvalidSignatureException", msgKey,
			fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service)})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeAWSError(w, errSerialization(msgKey, err.Error()))
		return
	}
	s.calls.Add(1)
	var out any
	var aerr *awsError
	if target == targetGetSecretValue {
		out, aerr = s.getSecretValue(body)
	} else {
		out, aerr = s.getParameter(body)
	}
	if aerr != nil {
		writeAWSError(w, aerr)
		return
	}
	writeAWSJSON(w, http.StatusOK, out)
}

// getSecretValueOutput is GetSecretValue's answer, as the API reference's "Response
// Syntax" has it: CreatedDate is a timestamp, in epoch seconds; SecretBinary is a blob,
// base64 in JSON; one of SecretString and SecretBinary is set.
type getSecretValueOutput struct {
	ARN           string
	Name          string
	VersionId     string
	SecretString  *string  `json:",omitempty"`
	SecretBinary  []byte   `json:",omitempty"`
	VersionStages []string `json:",omitempty"`
	CreatedDate   float64
}

func (s *Secrets) getSecretValue(body []byte) (any, *awsError) {
	const msgKey = "Message"
	var in struct {
		SecretId     *string
		VersionId    string
		VersionStage string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errSerialization(msgKey, err.Error())
	}
	if in.SecretId == nil || *in.SecretId == "" {
		return nil, errValidation(msgKey, "secretId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name, sec := s.findSecret(*in.SecretId)
	// IAM decides before the service looks: a denied caller learns nothing of the
	// secret, not even whether it exists.
	if s.denied[name] || s.denied[*in.SecretId] {
		return nil, errAccessDenied(msgKey, "secretsmanager:GetSecretValue", *in.SecretId)
	}
	if sec == nil {
		return nil, &awsError{http.StatusBadRequest, "ResourceNotFoundException", msgKey, "Secrets Manager can't find the specified secret."}
	}
	if in.VersionId != "" && in.VersionStage != "" {
		return nil, &awsError{http.StatusBadRequest, "InvalidParameterException", msgKey, "You can't specify both VersionId and VersionStage."}
	}
	current, previous := len(sec.versions)-1, len(sec.versions)-2
	i := current
	switch {
	case in.VersionId != "":
		i = -1
		for j, v := range sec.versions {
			if v.id == in.VersionId {
				i = j
			}
		}
		if i < 0 {
			return nil, &awsError{http.StatusBadRequest, "ResourceNotFoundException", msgKey, "Secrets Manager can't find the specified secret value for VersionId: " + in.VersionId}
		}
	case in.VersionStage == "" || in.VersionStage == "AWSCURRENT":
	case in.VersionStage == "AWSPREVIOUS" && previous >= 0:
		i = previous
	default:
		return nil, &awsError{http.StatusBadRequest, "ResourceNotFoundException", msgKey, "Secrets Manager can't find the specified secret value for staging label: " + in.VersionStage}
	}
	var stages []string
	switch i {
	case current:
		stages = []string{"AWSCURRENT"}
	case previous:
		stages = []string{"AWSPREVIOUS"}
	}
	v := sec.versions[i]
	return getSecretValueOutput{
		ARN: sec.arn, Name: name, VersionId: v.id, SecretString: v.str, SecretBinary: v.binary,
		VersionStages: stages, CreatedDate: epochSeconds(v.created),
	}, nil
}

// findSecret returns the secret id names, by its name, its ARN, or its ARN without the
// six random characters (a partial ARN, which GetSecretValue takes too), and its name.
// s.mu is held.
func (s *Secrets) findSecret(id string) (string, *secret) {
	if !strings.HasPrefix(id, "arn:") {
		return id, s.secrets[id]
	}
	for name, sec := range s.secrets {
		if id == sec.arn || id+sec.arn[len(sec.arn)-len("-XXXXXX"):] == sec.arn {
			return name, sec
		}
	}
	return "", nil
}

// getParameterOutput is GetParameter's answer, as the API reference's "Response
// Syntax" has it: LastModifiedDate is a timestamp, in epoch seconds.
type getParameterOutput struct {
	Parameter struct {
		ARN              string
		DataType         string
		LastModifiedDate float64
		Name             string
		Selector         string `json:",omitempty"`
		Type             string
		Value            string
		Version          int64
	}
}

func (s *Secrets) getParameter(body []byte) (any, *awsError) {
	const msgKey = "message"
	var in struct {
		Name           *string
		WithDecryption bool
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, errSerialization(msgKey, err.Error())
	}
	if in.Name == nil || *in.Name == "" {
		return nil, errValidation(msgKey, "name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ref, selector := splitSelector(*in.Name)
	name, p := s.findParameter(ref)
	if s.denied[name] || s.denied[ref] {
		return nil, errAccessDenied(msgKey, "ssm:GetParameter", ref)
	}
	if p == nil {
		// SSM says no more than the error's type: the AWS CLI prints "An error occurred
		// (ParameterNotFound) when calling the GetParameter operation: ", with nothing
		// after the colon.
		return nil, &awsError{status: http.StatusBadRequest, typ: "ParameterNotFound", msgKey: msgKey}
	}
	version := len(p.versions)
	if selector != "" {
		version, _ = strconv.Atoi(selector[1:])
		if version < 1 || version > len(p.versions) {
			return nil, &awsError{http.StatusBadRequest, "ParameterVersionNotFound", msgKey,
				fmt.Sprintf("Systems Manager could not find version %s of %s. Verify the version and try again.", selector[1:], name)}
		}
	}
	v := p.versions[version-1]
	var out getParameterOutput
	out.Parameter.ARN, out.Parameter.Name, out.Parameter.DataType = p.arn, name, "text"
	out.Parameter.Type, out.Parameter.Value, out.Parameter.Version = v.typ, v.value, int64(version)
	out.Parameter.LastModifiedDate, out.Parameter.Selector = epochSeconds(v.modified), selector
	if v.typ == "SecureString" && !in.WithDecryption {
		out.Parameter.Value = ciphertext(v.value, version)
	}
	return out, nil
}

// splitSelector splits a parameter's name, or ARN, from its version selector: "name:3"
// is ("name", ":3"). A selector that is no number is left in the name: labels are not
// supported.
func splitSelector(name string) (string, string) {
	i := strings.LastIndexByte(name, ':')
	if i < 0 || i == len(name)-1 {
		return name, ""
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name, ""
	}
	return name[:i], name[i:]
}

// findParameter returns the parameter ref names, by its name or its ARN, and its name.
// s.mu is held.
func (s *Secrets) findParameter(ref string) (string, *parameter) {
	if !strings.HasPrefix(ref, "arn:") {
		return ref, s.params[ref]
	}
	if _, err := arn.Parse(ref); err != nil {
		return "", nil
	}
	for name, p := range s.params {
		if p.arn == ref {
			return name, p
		}
	}
	return "", nil
}

// ciphertext stands for the KMS ciphertext that SSM answers for a SecureString read
// without WithDecryption: base64 of a blob that starts as KMS's do (AQICAH...) and does
// not hold the value.
func ciphertext(value string, version int) string {
	sum := sha256.Sum256([]byte(strconv.Itoa(version) + "\x00" + value))
	return base64.StdEncoding.EncodeToString(append([]byte{0x01, 0x02, 0x02, 0x00, 0x78}, sum[:]...))
}

// epochSeconds is t as the AWS JSON protocol writes a timestamp: seconds since the
// epoch, with milliseconds.
func epochSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

func writeAWSJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"__type":"InternalFailure"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", newUUID())
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeAWSError(w http.ResponseWriter, e *awsError) {
	body := map[string]string{"__type": e.typ}
	if e.message != "" {
		body[e.msgKey] = e.message
	}
	writeAWSJSON(w, e.status, body)
}

// randomSuffix is the six random characters Secrets Manager appends to a secret's ARN.
func randomSuffix() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// newUUID returns a random UUID, as a version id or a request id.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
