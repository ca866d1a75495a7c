// Package blob stores RD's large objects (review batches as JSON lines,
// archives) in S3 or any S3-compatible server, through the AWS SDK v2.
package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// Config locates the bucket. With Endpoint empty the client talks to AWS S3
// and takes credentials from the usual AWS environment.
type Config struct {
	// Bucket holds every object RD writes. Required; 3-63 characters.
	Bucket string
	// Region of the bucket. Defaults to "us-east-1".
	Region string
	// Endpoint of an S3-compatible server, e.g. "http://127.0.0.1:9000".
	// Defaults to "" (AWS S3).
	Endpoint string
	// AccessKeyID and SecretAccessKey are static credentials. Both empty means
	// the AWS default credential chain. Defaults to "".
	AccessKeyID     string
	SecretAccessKey string
	// PathStyle addresses objects as endpoint/bucket/key instead of
	// bucket.endpoint/key; S3-compatible servers usually need it.
	// Defaults to true when Endpoint is set.
	PathStyle bool
	// PublicBaseURL is where objects can be downloaded by their key, usually
	// a CDN in front of the bucket: URL(key) is PublicBaseURL + "/" + key.
	// Defaults to Endpoint + "/" + Bucket when Endpoint is set (the dev
	// server answers anonymous GETs there), else the bucket's virtual-hosted
	// AWS address https://BUCKET.s3.REGION.amazonaws.com.
	PublicBaseURL string
}

// Store reads and writes objects in one bucket.
type Store struct {
	client     *s3.Client
	bucket     string
	publicBase string
}

// ErrNotFound is returned (wrapped) by Get for a key the bucket does not hold.
var ErrNotFound = errors.New("blob: object not found")

func (c *Config) validate() error {
	if n := len(c.Bucket); n < 3 || n > 63 {
		return fmt.Errorf("blob: bucket name %q must have 3-63 characters: set S3_BUCKET", c.Bucket)
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Endpoint != "" {
		c.PathStyle = true
		if !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
			return fmt.Errorf("blob: endpoint %q needs a scheme: set S3_ENDPOINT to http://host:port", c.Endpoint)
		}
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return errors.New("blob: set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither")
	}
	return c.validatePublicBase()
}

// validatePublicBase applies PublicBaseURL's default and checks it is an
// absolute http(s) URL, since integrators download batches from it.
func (c *Config) validatePublicBase() error {
	switch {
	case c.PublicBaseURL != "":
	case c.Endpoint != "":
		c.PublicBaseURL = strings.TrimRight(c.Endpoint, "/") + "/" + c.Bucket
	default:
		c.PublicBaseURL = "https://" + c.Bucket + ".s3." + c.Region + ".amazonaws.com"
	}
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	u, err := url.Parse(c.PublicBaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("blob: public base URL %q must be an absolute http(s) URL: set S3_PUBLIC_BASE_URL, e.g. https://cdn.example.com", c.PublicBaseURL)
	}
	return nil
}

// New builds the client. It does no I/O: Ping or EnsureBucket checks the server.
func New(cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	opts := s3.Options{
		Region:       cfg.Region,
		UsePathStyle: cfg.PathStyle,
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	if cfg.AccessKeyID != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")
	}
	return &Store{client: s3.New(opts), bucket: cfg.Bucket, publicBase: cfg.PublicBaseURL}, nil
}

// Bucket is the name of the bucket this store writes to.
func (s *Store) Bucket() string { return s.bucket }

// Ping checks that the bucket exists and is reachable with these credentials.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	if err != nil {
		return fmt.Errorf("blob: head bucket %s: %w", s.bucket, err)
	}
	return nil
}

// EnsureBucket creates the bucket when it does not exist yet. It is meant for
// the dev stack and tests; production buckets are provisioned separately.
func (s *Store) EnsureBucket(ctx context.Context) error {
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	var apiErr smithy.APIError
	switch {
	case err == nil, errors.As(err, &owned), errors.As(err, &exists):
		return nil
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "BucketAlreadyExists":
		return nil
	default:
		return fmt.Errorf("blob: create bucket %s: %w", s.bucket, err)
	}
}

// Put writes body under key, replacing any object already there: writers use
// deterministic keys, so a retried write overwrites rather than duplicates.
func (s *Store) Put(ctx context.Context, key string, body []byte, contentType string) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	return nil
}

// Get returns the object under key. It returns an error wrapping ErrNotFound
// when there is none.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if _, ok := errors.AsType[*types.NoSuchKey](err); ok {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, fmt.Errorf("blob: get %s: %w", key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("blob: read %s: %w", key, err)
	}
	return body, nil
}

// Delete removes the object under key; a key that does not exist is not an
// error (S3 semantics), so a retried delete succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// URL is the public address of the object under key: the configured public
// base URL and the key, each path segment escaped. It does no I/O and does not
// check that the object exists.
func (s *Store) URL(key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return s.publicBase + "/" + strings.Join(segs, "/")
}
