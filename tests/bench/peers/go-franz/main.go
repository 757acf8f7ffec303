// go-franz: the peer tests/bench/compare.sh measures ingestd against, a GitHub webhook
// receiver as a Go user would write it with net/http and franz-go. Same contract as ingestd's
// durable mode: verify X-Hub-Signature-256, produce the body with acks=all (franz-go's
// idempotent producer), answer 200 only once the broker has acknowledged the record.
//
//	POST /webhooks/github  200 after the ack, 401 bad signature, 400 no delivery id,
//	                       413 body too large, 503 produce failed
//	GET  /healthz          200
//
// franz-go fails an idempotent record only while that is safe (never sent, or answered): a
// broker that goes away under a sent request holds that answer until it is back.
//
// Flags (or environment): -listen (LISTEN), -brokers (KAFKA_BROKERS), -topic (TOPIC);
// the secret comes from GITHUB_WEBHOOK_SECRET.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// GitHub's own limit on a webhook body; the broker accepts records up to 26 MiB.
const maxBody = 25 << 20

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// validSignature checks "sha256=<hex HMAC-SHA256 of the body>" in constant time.
func validSignature(secret, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// repositoryKey is repository.full_name, the record key (per-repository order), or nil.
func repositoryKey(body []byte) []byte {
	var doc struct {
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.Repository.FullName == "" {
		return nil
	}
	return []byte(doc.Repository.FullName)
}

func main() {
	listen := flag.String("listen", env("LISTEN", "127.0.0.1:8081"), "address to listen on")
	brokers := flag.String("brokers", env("KAFKA_BROKERS", "127.0.0.1:9092"), "seed brokers, comma-separated")
	topic := flag.String("topic", env("TOPIC", "webhooks.github"), "topic to produce to")
	flag.Parse()
	secret := []byte(os.Getenv("GITHUB_WEBHOOK_SECRET"))
	if len(secret) == 0 {
		log.Fatal("GITHUB_WEBHOOK_SECRET is not set")
	}

	client, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.DefaultProduceTopic(*topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent writes stay on (the default)
		kgo.ProducerBatchMaxBytes(26<<20),
		// Without it a record is retried for as long as the request lasts: never a 503.
		kgo.RecordDeliveryTimeout(30*time.Second),
	)
	if err != nil {
		log.Fatalf("kafka client: %v", err)
	}
	defer client.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("POST /webhooks/github", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		} else if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		if !validSignature(secret, body, r.Header.Get("X-Hub-Signature-256")) {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		delivery := r.Header.Get("X-GitHub-Delivery")
		if delivery == "" {
			http.Error(w, "missing X-GitHub-Delivery", http.StatusBadRequest)
			return
		}
		record := &kgo.Record{Key: repositoryKey(body), Value: body, Headers: []kgo.RecordHeader{
			{Key: "event-id", Value: []byte(delivery)},
			{Key: "event-type", Value: []byte(r.Header.Get("X-GitHub-Event"))},
		}}
		if err := client.ProduceSync(r.Context(), record).FirstErr(); err != nil {
			log.Printf("produce failed delivery=%s: %v", delivery, err)
			http.Error(w, "not stored, retry later", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "{\"event_id\":\""+delivery+"\"}\n")
	})

	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on %s, producing to %s", *listen, *topic)
	log.Fatal(server.ListenAndServe())
}
