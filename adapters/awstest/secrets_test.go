package awstest_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

// TestSecretsGetSecretValue reads secrets through the SDK's Secrets Manager client: by
// name, ARN and partial ARN, string and binary, current and previous versions, and the
// errors the client turns into its own types.
func TestSecretsGetSecretValue(t *testing.T) {
	s := awstest.StartSecrets(t)
	client := awstest.SecretsManagerClient(s.URL())
	keyARN := s.PutSecret("pusher/key", "old")
	if again := s.PutSecret("pusher/key", "new"); again != keyARN {
		t.Fatalf("a new version changed the ARN: %s, then %s", keyARN, again)
	}
	binARN := s.PutBinarySecret("pusher/bin", []byte{0, 1, 0xff})
	s.PutSecret("pusher/denied", "x")
	s.Deny("pusher/denied")
	if !strings.HasPrefix(keyARN, "arn:aws:secretsmanager:"+awstest.Region+":"+awstest.SecretsAccountID+":secret:pusher/key-") ||
		len(keyARN) != len("arn:aws:secretsmanager:us-east-1:123456789012:secret:pusher/key-XXXXXX") {
		t.Fatalf("ARN %s, want arn:aws:secretsmanager:REGION:ACCOUNT:secret:pusher/key-XXXXXX", keyARN)
	}

	cases := []struct {
		name       string
		in         secretsmanager.GetSecretValueInput
		wantString string
		wantBinary string
		wantStage  string
		wantARN    string
		wantErr    string // the error's code, "" for none
	}{
		{name: "by name", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("pusher/key")}, wantString: "new", wantStage: "AWSCURRENT", wantARN: keyARN},
		{name: "by ARN", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(keyARN)}, wantString: "new", wantStage: "AWSCURRENT", wantARN: keyARN},
		{name: "by partial ARN", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(keyARN[:len(keyARN)-7])}, wantString: "new", wantStage: "AWSCURRENT", wantARN: keyARN},
		{name: "previous version", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(keyARN), VersionStage: aws.String("AWSPREVIOUS")},
			wantString: "old", wantStage: "AWSPREVIOUS", wantARN: keyARN},
		{name: "binary", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(binARN)}, wantBinary: "\x00\x01\xff", wantStage: "AWSCURRENT", wantARN: binARN},
		{name: "missing", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("pusher/missing")}, wantErr: "ResourceNotFoundException"},
		{name: "ARN with the wrong suffix", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(keyARN[:len(keyARN)-6] + "zzzzzz")}, wantErr: "ResourceNotFoundException"},
		{name: "ARN of another account", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(strings.Replace(keyARN, awstest.SecretsAccountID, "210987654321", 1))},
			wantErr: "ResourceNotFoundException"},
		{name: "no previous version", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(binARN), VersionStage: aws.String("AWSPREVIOUS")}, wantErr: "ResourceNotFoundException"},
		{name: "denied", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("pusher/denied")}, wantErr: "AccessDeniedException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.GetSecretValue(t.Context(), &tc.in)
			if tc.wantErr != "" {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.wantErr {
					t.Fatalf("err %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(out.SecretString); got != tc.wantString || (out.SecretString == nil) != (tc.wantBinary != "") {
				t.Errorf("SecretString %v, want %q", out.SecretString, tc.wantString)
			}
			if string(out.SecretBinary) != tc.wantBinary {
				t.Errorf("SecretBinary %q, want %q", out.SecretBinary, tc.wantBinary)
			}
			if aws.ToString(out.ARN) != tc.wantARN || !strings.Contains(tc.wantARN, ":secret:"+aws.ToString(out.Name)+"-") {
				t.Errorf("ARN %s, Name %s; want ARN %s", aws.ToString(out.ARN), aws.ToString(out.Name), tc.wantARN)
			}
			if len(out.VersionStages) != 1 || out.VersionStages[0] != tc.wantStage || aws.ToString(out.VersionId) == "" {
				t.Errorf("VersionStages %q, VersionId %q; want [%s] and an id", out.VersionStages, aws.ToString(out.VersionId), tc.wantStage)
			}
			if out.CreatedDate == nil || time.Since(*out.CreatedDate).Abs() > time.Minute {
				t.Errorf("CreatedDate %v, want about now", out.CreatedDate)
			}
		})
	}

	// The SDK gives the error of a missing secret its own type, with the service's words.
	_, err := client.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("pusher/missing")})
	var notFound *smtypes.ResourceNotFoundException
	if !errors.As(err, &notFound) || notFound.ErrorMessage() != "Secrets Manager can't find the specified secret." {
		t.Errorf("err %v, want a *types.ResourceNotFoundException saying Secrets Manager can't find the specified secret.", err)
	}
}

// TestSecretsGetParameter reads parameters through the SDK's SSM client: by name and
// ARN, a SecureString with and without decryption, a version selector, and errors.
func TestSecretsGetParameter(t *testing.T) {
	s := awstest.StartSecrets(t)
	client := awstest.SSMClient(s.URL())
	keyARN := s.PutParameter("/pusher/key", "v1", true)
	s.PutParameter("/pusher/key", "v2", true)
	plainARN := s.PutParameter("plain", "hello", false)
	s.PutParameter("/pusher/denied", "x", false)
	s.Deny("/pusher/denied")
	if want := "arn:aws:ssm:" + awstest.Region + ":" + awstest.SecretsAccountID + ":parameter/pusher/key"; keyARN != want {
		t.Fatalf("ARN %s, want %s", keyARN, want)
	}

	cases := []struct {
		name        string
		in          ssm.GetParameterInput
		wantValue   string // "ciphertext" for a value that is neither v1 nor v2
		wantType    ssmtypes.ParameterType
		wantVersion int64
		wantARN     string
		wantErr     string
	}{
		{name: "SecureString decrypted", in: ssm.GetParameterInput{Name: aws.String("/pusher/key"), WithDecryption: aws.Bool(true)},
			wantValue: "v2", wantType: ssmtypes.ParameterTypeSecureString, wantVersion: 2, wantARN: keyARN},
		{name: "SecureString by ARN", in: ssm.GetParameterInput{Name: aws.String(keyARN), WithDecryption: aws.Bool(true)},
			wantValue: "v2", wantType: ssmtypes.ParameterTypeSecureString, wantVersion: 2, wantARN: keyARN},
		{name: "SecureString not decrypted", in: ssm.GetParameterInput{Name: aws.String("/pusher/key")},
			wantValue: "ciphertext", wantType: ssmtypes.ParameterTypeSecureString, wantVersion: 2, wantARN: keyARN},
		{name: "a version", in: ssm.GetParameterInput{Name: aws.String("/pusher/key:1"), WithDecryption: aws.Bool(true)},
			wantValue: "v1", wantType: ssmtypes.ParameterTypeSecureString, wantVersion: 1, wantARN: keyARN},
		{name: "String, decryption ignored", in: ssm.GetParameterInput{Name: aws.String(plainARN)},
			wantValue: "hello", wantType: ssmtypes.ParameterTypeString, wantVersion: 1, wantARN: plainARN},
		{name: "missing", in: ssm.GetParameterInput{Name: aws.String("/pusher/missing")}, wantErr: "ParameterNotFound"},
		{name: "missing version", in: ssm.GetParameterInput{Name: aws.String("/pusher/key:3")}, wantErr: "ParameterVersionNotFound"},
		{name: "ARN of another region", in: ssm.GetParameterInput{Name: aws.String(strings.Replace(keyARN, awstest.Region, "eu-west-1", 1))}, wantErr: "ParameterNotFound"},
		{name: "denied", in: ssm.GetParameterInput{Name: aws.String("/pusher/denied")}, wantErr: "AccessDeniedException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.GetParameter(t.Context(), &tc.in)
			if tc.wantErr != "" {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.wantErr {
					t.Fatalf("err %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := out.Parameter
			value := aws.ToString(p.Value)
			if tc.wantValue == "ciphertext" {
				if value == "v1" || value == "v2" || value == "" {
					t.Errorf("Value %q, want a ciphertext", value)
				}
			} else if value != tc.wantValue {
				t.Errorf("Value %q, want %q", value, tc.wantValue)
			}
			if p.Type != tc.wantType || p.Version != tc.wantVersion || aws.ToString(p.ARN) != tc.wantARN || aws.ToString(p.DataType) != "text" {
				t.Errorf("Type %s Version %d ARN %s DataType %s; want %s %d %s text",
					p.Type, p.Version, aws.ToString(p.ARN), aws.ToString(p.DataType), tc.wantType, tc.wantVersion, tc.wantARN)
			}
			if p.LastModifiedDate == nil || time.Since(*p.LastModifiedDate).Abs() > time.Minute {
				t.Errorf("LastModifiedDate %v, want about now", p.LastModifiedDate)
			}
		})
	}

	_, err := client.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/pusher/missing")})
	var notFound *ssmtypes.ParameterNotFound
	if !errors.As(err, &notFound) {
		t.Errorf("err %v, want a *types.ParameterNotFound", err)
	}
}

// TestSecretsRequests: what the emulator refuses of a request, as the services do,
// before it reads the call.
func TestSecretsRequests(t *testing.T) {
	s := awstest.StartSecrets(t)
	s.PutSecret("k", "v")
	const signed = "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00"
	cases := []struct {
		name        string
		method      string
		target      string
		contentType string
		auth        string
		body        string
		wantStatus  int
		wantType    string
	}{
		{name: "a good call", target: "secretsmanager.GetSecretValue", body: `{"SecretId":"k"}`, wantStatus: http.StatusOK},
		{name: "no target", body: `{"SecretId":"k"}`, wantStatus: http.StatusBadRequest, wantType: "UnknownOperationException"},
		{name: "another operation", target: "secretsmanager.DeleteSecret", body: `{"SecretId":"k"}`, wantStatus: http.StatusBadRequest, wantType: "UnknownOperationException"},
		{name: "GET", method: http.MethodGet, target: "secretsmanager.GetSecretValue", wantStatus: http.StatusBadRequest, wantType: "UnknownOperationException"},
		{name: "JSON 1.0", target: "secretsmanager.GetSecretValue", contentType: "application/x-amz-json-1.0", body: `{"SecretId":"k"}`,
			wantStatus: http.StatusBadRequest, wantType: "SerializationException"},
		{name: "not JSON", target: "secretsmanager.GetSecretValue", body: `SecretId=k`, wantStatus: http.StatusBadRequest, wantType: "SerializationException"},
		{name: "no SecretId", target: "secretsmanager.GetSecretValue", body: `{}`, wantStatus: http.StatusBadRequest, wantType: "ValidationException"},
		{name: "unsigned", target: "secretsmanager.GetSecretValue", auth: "-", body: `{"SecretId":"k"}`,
			wantStatus: http.StatusBadRequest, wantType: "MissingAuthenticationTokenException"},
		{name: "signed for SSM", target: "secretsmanager.GetSecretValue", auth: strings.Replace(signed, "/secretsmanager/", "/ssm/", 1), body: `{"SecretId":"k"}`,
			wantStatus: http.StatusBadRequest, wantType: "InvalidSignatureException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), cmp.Or(tc.method, http.MethodPost), s.URL()+"/", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.target != "" {
				req.Header.Set("X-Amz-Target", tc.target)
			}
			req.Header.Set("Content-Type", cmp.Or(tc.contentType, "application/x-amz-json-1.1"))
			if auth := cmp.Or(tc.auth, signed); auth != "-" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("the answer is not JSON: %v", err)
			}
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
				t.Errorf("status %d, Content-Type %q; want %d, application/x-amz-json-1.1", resp.StatusCode, resp.Header.Get("Content-Type"), tc.wantStatus)
			}
			if got, _ := body["__type"].(string); got != tc.wantType {
				t.Errorf("__type %q, want %q (%v)", got, tc.wantType, body)
			}
		})
	}
}

// envProcess is the variable that makes the test binary the child process of
// TestSecretsEnv.
const envProcess = "AWSTEST_SECRETS_CHILD"

// TestSecretsEnv: a process started with Env reads both services through the SDK's
// default configuration, as a Lambda function under test does. The child is this test
// binary, run again.
func TestSecretsEnv(t *testing.T) {
	if os.Getenv(envProcess) != "" {
		secretsChild()
		return
	}
	s := awstest.StartSecrets(t)
	smARN := s.PutSecret("pusher/key", "from secrets manager")
	ssmARN := s.PutParameter("/pusher/key", "from ssm", true)

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSecretsEnv$", "-test.count=1")
	cmd.Env = append(os.Environ(), envProcess+"=1", "SM_ARN="+smARN, "SSM_ARN="+ssmARN)
	for k, v := range s.Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child failed: %v\n%s", err, out)
	}
	for _, want := range []string{"secret=from secrets manager\n", "parameter=from ssm\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the child printed %q, want it to hold %q", out, want)
		}
	}
	if got := s.Calls(); got != 2 {
		t.Errorf("the emulator answered %d calls, want 2", got)
	}
}

// secretsChild reads the secrets of TestSecretsEnv with clients of the default
// configuration, prints them and exits.
func secretsChild() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fail := func(err error) {
		fmt.Println(err)
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	sec, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(os.Getenv("SM_ARN"))})
	if err != nil {
		fail(err)
	}
	par, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(os.Getenv("SSM_ARN")), WithDecryption: aws.Bool(true)})
	if err != nil {
		fail(err)
	}
	fmt.Printf("secret=%s\nparameter=%s\n", aws.ToString(sec.SecretString), aws.ToString(par.Parameter.Value))
	os.Exit(0)
}
