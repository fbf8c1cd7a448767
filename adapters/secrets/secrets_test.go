package secrets_test

import (
	"errors"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/secrets"
)

// TestFetch reads secrets from the emulator of Secrets Manager and SSM, as the
// authorizer reads its HS256 key; a failed call's error is the SDK's clients' (an
// operation error of the service, the HTTP status, the API error's code).
func TestFetch(t *testing.T) {
	emu := awstest.StartSecrets(t)
	const key = "a key of thirty-two bytes or more, for HS256"
	smARN := emu.PutSecret("pusher/connect-key", key)
	secureARN := emu.PutParameter("/pusher/connect-key", key, true)
	plainARN := emu.PutParameter("/pusher/plain", "plain value", false)
	binaryARN := emu.PutBinarySecret("pusher/binary", []byte(key))
	emptyARN := emu.PutSecret("pusher/empty", "")
	deniedARN := emu.PutSecret("pusher/denied", key)
	emu.Deny("pusher/denied")
	missingSM := "arn:aws:secretsmanager:us-east-1:" + awstest.SecretsAccountID + ":secret:pusher/missing-AbCdEf"
	missingSSM := "arn:aws:ssm:us-east-1:" + awstest.SecretsAccountID + ":parameter/pusher/missing"

	cases := []struct {
		name    string
		arn     string
		want    string
		wantErr string // in the error, with the ARN, "" for none
		service string // the ServiceID of the operation error the error wraps, "" for none
		code    string // the API error code the error wraps, "" for none
	}{
		{name: "Secrets Manager secret by ARN", arn: smARN, want: key},
		{name: "SSM SecureString, decrypted", arn: secureARN, want: key},
		{name: "SSM String", arn: plainARN, want: "plain value"},
		{name: "missing secret", arn: missingSM, wantErr: "get secret", service: "Secrets Manager", code: "ResourceNotFoundException"},
		{name: "missing parameter", arn: missingSSM, wantErr: "get parameter", service: "SSM", code: "ParameterNotFound"},
		{name: "binary secret", arn: binaryARN, wantErr: "is binary"},
		{name: "empty secret", arn: emptyARN, wantErr: "is empty"},
		{name: "access denied", arn: deniedARN, wantErr: "get secret", service: "Secrets Manager", code: "AccessDeniedException"},
	}
	store := secrets.New(emu.Config())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.Fetch(t.Context(), tc.arn)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Fatalf("Fetch = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Fetch = %q, want an error saying %q", got, tc.wantErr)
			}
			if got != "" {
				t.Errorf("Fetch returned %q with its error", got)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.arn) {
				t.Errorf("err %q, want it to say %q and name %s", err, tc.wantErr, tc.arn)
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("err %q holds the secret", err)
			}
			var apiErr smithy.APIError
			if tc.code != "" && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code) {
				t.Errorf("err %v, want it to wrap the API error %s", err, tc.code)
			}
			var opErr *smithy.OperationError
			var respErr *awshttp.ResponseError
			if tc.service != "" {
				if !errors.As(err, &opErr) || opErr.Service() != tc.service {
					t.Errorf("err %v, want an operation error of %s", err, tc.service)
				}
				if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != 400 {
					t.Errorf("err %v, want a response error of status 400", err)
				}
			}
		})
	}
}

// TestValidate: the ARNs a Store takes, and those it refuses without a call.
func TestValidate(t *testing.T) {
	cases := []struct {
		name    string
		arn     string
		wantErr string // in the error, "" for none
	}{
		{name: "Secrets Manager secret", arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:pusher/key-AbCdEf"},
		{name: "Secrets Manager secret, partial ARN", arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:pusher/key"},
		{name: "SSM parameter", arn: "arn:aws:ssm:us-east-1:123456789012:parameter/pusher/key"},
		{name: "SSM parameter, one-level name", arn: "arn:aws:ssm:eu-west-1:123456789012:parameter/key"},
		{name: "another partition", arn: "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/key"},
		{name: "a name, not an ARN", arn: "pusher/key", wantErr: "not an ARN"},
		{name: "empty", arn: "", wantErr: "not an ARN"},
		{name: "too few sections", arn: "arn:aws:secretsmanager:us-east-1:secret", wantErr: "not an ARN"},
		{name: "no account", arn: "arn:aws:secretsmanager:us-east-1::secret:key", wantErr: "neither"},
		{name: "no region", arn: "arn:aws:ssm::123456789012:parameter/key", wantErr: "neither"},
		{name: "an S3 object", arn: "arn:aws:s3:::bucket/key", wantErr: "neither"},
		{name: "a KMS key", arn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", wantErr: "neither"},
		{name: "an SSM document", arn: "arn:aws:ssm:us-east-1:123456789012:document/key", wantErr: "neither"},
		{name: "secretsmanager, not a secret", arn: "arn:aws:secretsmanager:us-east-1:123456789012:parameter/key", wantErr: "neither"},
		{name: "ssm, a secret's resource", arn: "arn:aws:ssm:us-east-1:123456789012:secret:key", wantErr: "neither"},
		{name: "a secret without a name", arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:", wantErr: "neither"},
		{name: "a parameter without a name", arn: "arn:aws:ssm:us-east-1:123456789012:parameter/", wantErr: "neither"},
	}
	emu := awstest.StartSecrets(t)
	store := secrets.New(emu.Config())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := secrets.Validate(tc.arn)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate: %v, want an error saying %q", err, tc.wantErr)
			}
			before := emu.Calls()
			if _, err := store.Fetch(t.Context(), tc.arn); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Fetch: %v, want an error saying %q", err, tc.wantErr)
			}
			if emu.Calls() != before {
				t.Errorf("Fetch of an ARN Validate refuses called the service")
			}
		})
	}
}
