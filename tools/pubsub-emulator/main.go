// Command pubsub-emulator serves Google's in-memory Pub/Sub fake (pstest) over
// real gRPC, plus the standard gRPC health service, for local runs and tests.
//
// Usage: pubsub-emulator [--host 127.0.0.1] [--port 8085] [--journal FILE]
//
// With --journal, topics, subscriptions, unacked messages and acks survive a restart (journal.go);
// without it, everything is in memory only, as in pstest.
//
// When the server accepts connections it prints exactly one line to stdout:
//
//	pubsub-emulator listening on HOST:PORT
//
// With --port 0 the kernel picks a free port and the line reports it. All other
// output goes to stderr. SIGINT or SIGTERM stop it with exit status 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

const (
	// The real service accepts publish requests up to 10 MB; gRPC's default
	// 4 MiB limit would reject batches that production takes.
	maxRecvBytes = 10 << 20
	// In-flight unary calls get this long after a signal. Streaming pulls never
	// end on their own, so waiting for them would hang shutdown.
	shutdownGrace = 2 * time.Second
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("pubsub-emulator: ")
	host := flag.String("host", "127.0.0.1", "address to bind (loopback by default)")
	port := flag.Int("port", 8085, "TCP port to bind; 0 picks a free one")
	journalPath := flag.String("journal", "", "file that keeps topics, subscriptions and unacked messages across restarts (default: memory only)")
	flag.Parse()
	if err := run(*host, *port, *journalPath); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(host string, port int, journalPath string) error {
	var j *journal
	if journalPath != "" {
		var err error
		if j, err = openJournal(journalPath); err != nil {
			return err
		}
		defer func() { _ = j.close() }()
	}
	lis, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fake := newFake(host)
	defer fake.Close() // stops the fake's per-subscription delivery goroutines

	dl := &deadLetterer{fake: &fake.GServer, journal: j, limits: map[string]int32{}}
	if j != nil {
		began := time.Now()
		if err := j.restore(fake, dl); err != nil {
			return err
		}
		log.Printf("journal %s: %d topics, %d subscriptions, %d unacked messages restored in %s",
			journalPath, len(j.topics), len(j.subs), len(j.msgs), time.Since(began).Round(time.Millisecond))
	}
	srv := newGRPCServer(&fake.GServer, dl, j)
	healthSrv := newHealthServer()
	healthpb.RegisterHealthServer(srv, healthSrv)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()
	fmt.Printf("pubsub-emulator listening on %s\n", lis.Addr())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	healthSrv.Shutdown() // NOT_SERVING, so health probes fail fast while we drain
	gracefulStop(srv)
	if err := <-serveErr; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// newFake builds the pstest fake. pstest always opens and serves its own
// listener and offers no hook to add services on a chosen host, so we bind that
// listener to the same host on a throwaway port, close it at once, and serve
// the fake's exported GServer from our own gRPC server instead.
func newFake(host string) *pstest.Server {
	fake := pstest.NewServerWithAddress(net.JoinHostPort(host, "0"))
	// Closing before pstest's goroutine reaches Serve makes it log a spurious
	// "server has been stopped" error, so wait until it is serving first.
	awaitServing(fake.Addr)
	_ = fake.Close()
	return fake
}

// awaitServing returns once a gRPC server answers at addr: gRPC-Go servers send
// their HTTP/2 SETTINGS frame as soon as they accept, so one byte is proof.
func awaitServing(addr string) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = conn.Read(make([]byte, 1))
}

func newGRPCServer(fake *pstest.GServer, dl *deadLetterer, j *journal) *grpc.Server {
	srv := grpc.NewServer(
		grpc.MaxRecvMsgSize(maxRecvBytes),
		// Client libraries ping idle connections (Node: every 5 min); gRPC-Go's
		// default policy answers pings without streams with GOAWAY too_many_pings.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             10 * time.Second,
			PermitWithoutStream: true,
		}),
		// The journal sees each call as clients do (after the dead-letterer has revealed real limits).
		grpc.ChainUnaryInterceptor(j.unary, dl.unary),
		grpc.ChainStreamInterceptor(dl.stream),
	)
	pb.RegisterPublisherServer(srv, fake)
	pb.RegisterSubscriberServer(srv, fake)
	pb.RegisterSchemaServiceServer(srv, fake)
	return srv
}

// newHealthServer reports SERVING for the whole server ("") and for each Pub/Sub
// service by name, so probes of either kind pass.
func newHealthServer() *health.Server {
	h := health.NewServer()
	for _, svc := range []string{
		pb.Publisher_ServiceDesc.ServiceName,
		pb.Subscriber_ServiceDesc.ServiceName,
		pb.SchemaService_ServiceDesc.ServiceName,
	} {
		h.SetServingStatus(svc, healthpb.HealthCheckResponse_SERVING)
	}
	return h
}

func gracefulStop(srv *grpc.Server) {
	done := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		srv.Stop()
	}
}

// Dead-letter policy limits, as the real service applies them.
const (
	defaultMaxDeliveryAttempts = 5
	minMaxDeliveryAttempts     = 5
	maxMaxDeliveryAttempts     = 100
	// What pstest is told instead, so that it never dead-letters by itself.
	hiddenMaxDeliveryAttempts = math.MaxInt32
)

// deadLetterer does the dead-letter hand-off in front of pstest. Since v2.6.1,
// pstest gives each delivery its own ack id but acks a dead-lettered message by
// its bare message id. That ack is ignored, so the message stays and goes to the
// dead-letter topic again on every 10 ms delivery tick, forever. pstest still
// counts delivery attempts when a subscription has a policy, so it gets a limit
// it never reaches; the first delivery past the real limit is then published to
// the dead-letter topic and acked here, never reaching the client.
type deadLetterer struct {
	fake    *pstest.GServer
	journal *journal // nil: memory only
	mu      sync.Mutex
	limits  map[string]int32 // subscription name -> maxDeliveryAttempts the client set
}

func (d *deadLetterer) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	switch r := req.(type) {
	case *pb.Subscription: // CreateSubscription
		return d.create(ctx, r, handler)
	case *pb.UpdateSubscriptionRequest:
		return d.update(ctx, r, handler)
	case *pb.DeleteSubscriptionRequest:
		resp, err := handler(ctx, req)
		if err == nil {
			d.setLimit(r.GetSubscription(), 0)
		}
		return resp, err
	}
	resp, err := handler(ctx, req)
	if err != nil {
		return resp, err
	}
	switch r := resp.(type) {
	case *pb.Subscription: // GetSubscription
		return d.reveal(r), nil
	case *pb.ListSubscriptionsResponse:
		out := proto.Clone(r).(*pb.ListSubscriptionsResponse)
		for i, s := range out.Subscriptions {
			out.Subscriptions[i] = d.reveal(s)
		}
		return out, nil
	case *pb.PullResponse:
		sub := req.(*pb.PullRequest).GetSubscription()
		return &pb.PullResponse{ReceivedMessages: d.divert(sub, r.ReceivedMessages)}, nil
	}
	return resp, nil
}

func (d *deadLetterer) create(ctx context.Context, sub *pb.Subscription, handler grpc.UnaryHandler) (any, error) {
	limit, err := policyLimit(sub.GetDeadLetterPolicy())
	if err != nil || limit == 0 {
		return orForward(ctx, sub, err, handler)
	}
	resp, err := handler(ctx, withHiddenLimit(sub))
	if err != nil {
		return nil, err
	}
	d.setLimit(sub.GetName(), limit)
	return d.reveal(resp.(*pb.Subscription)), nil
}

func (d *deadLetterer) update(ctx context.Context, req *pb.UpdateSubscriptionRequest, handler grpc.UnaryHandler) (any, error) {
	if !slices.Contains(req.GetUpdateMask().GetPaths(), "dead_letter_policy") {
		return orForward(ctx, req, nil, handler)
	}
	limit, err := policyLimit(req.GetSubscription().GetDeadLetterPolicy())
	if err != nil {
		return nil, err
	}
	out := proto.Clone(req).(*pb.UpdateSubscriptionRequest)
	if limit > 0 {
		out.Subscription = withHiddenLimit(req.GetSubscription())
	}
	resp, err := handler(ctx, out)
	if err != nil {
		return nil, err
	}
	d.setLimit(req.GetSubscription().GetName(), limit)
	return d.reveal(resp.(*pb.Subscription)), nil
}

// orForward fails with err if there is one, else passes req on to pstest as is.
func orForward(ctx context.Context, req any, err error, handler grpc.UnaryHandler) (any, error) {
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// policyLimit is the policy's maxDeliveryAttempts checked as the real service
// does (0 means 5); 0 when there is no policy.
func policyLimit(p *pb.DeadLetterPolicy) (int32, error) {
	if p == nil {
		return 0, nil
	}
	n := p.GetMaxDeliveryAttempts()
	if n == 0 {
		n = defaultMaxDeliveryAttempts
	}
	if n < minMaxDeliveryAttempts || n > maxMaxDeliveryAttempts {
		return 0, status.Errorf(codes.InvalidArgument,
			"max_delivery_attempts must be between %d and %d, got %d", minMaxDeliveryAttempts, maxMaxDeliveryAttempts, n)
	}
	return n, nil
}

func withHiddenLimit(sub *pb.Subscription) *pb.Subscription {
	out := proto.Clone(sub).(*pb.Subscription)
	out.DeadLetterPolicy.MaxDeliveryAttempts = hiddenMaxDeliveryAttempts
	return out
}

// setLimit records a subscription's real limit; 0 forgets it.
func (d *deadLetterer) setLimit(sub string, limit int32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if limit == 0 {
		delete(d.limits, sub)
	} else {
		d.limits[sub] = limit
	}
}

func (d *deadLetterer) limit(sub string) (int32, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	limit, ok := d.limits[sub]
	return limit, ok
}

// reveal returns sub as clients must see it: with its real limit. pstest hands
// out its stored proto, so that is cloned, never changed.
func (d *deadLetterer) reveal(sub *pb.Subscription) *pb.Subscription {
	limit, ok := d.limit(sub.GetName())
	if !ok || sub.GetDeadLetterPolicy() == nil {
		return sub
	}
	out := proto.Clone(sub).(*pb.Subscription)
	out.DeadLetterPolicy.MaxDeliveryAttempts = limit
	return out
}

// divert dead-letters the messages of sub whose delivery attempt is past the
// limit and returns the others, which go on to the client.
func (d *deadLetterer) divert(sub string, msgs []*pb.ReceivedMessage) []*pb.ReceivedMessage {
	limit, ok := d.limit(sub)
	if !ok {
		return msgs
	}
	kept := make([]*pb.ReceivedMessage, 0, len(msgs))
	for _, rm := range msgs {
		if rm.GetDeliveryAttempt() <= limit {
			kept = append(kept, rm)
			continue
		}
		if err := d.forward(sub, rm); err != nil {
			// The real service, too, keeps delivering what it cannot dead-letter.
			log.Printf("dead-lettering message %s of %s: %v", rm.GetMessage().GetMessageId(), sub, err)
			kept = append(kept, rm)
		}
	}
	return kept
}

// forward publishes rm to the dead-letter topic as a new message (new id, same
// data, attributes and ordering key), then acks it on sub.
func (d *deadLetterer) forward(sub string, rm *pb.ReceivedMessage) error {
	ctx := context.Background()
	s, err := d.fake.GetSubscription(ctx, &pb.GetSubscriptionRequest{Subscription: sub})
	if err != nil {
		return err
	}
	m := rm.GetMessage()
	pub := &pb.PublishRequest{
		Topic:    s.GetDeadLetterPolicy().GetDeadLetterTopic(),
		Messages: []*pb.PubsubMessage{{Data: m.GetData(), Attributes: m.GetAttributes(), OrderingKey: m.GetOrderingKey()}},
	}
	if _, err = d.journal.change(func() (any, error) { return d.fake.Publish(ctx, pub) }, asRecord(pub)); err != nil {
		return err
	}
	ack := &pb.AcknowledgeRequest{Subscription: sub, AckIds: []string{rm.GetAckId()}}
	_, err = d.journal.change(func() (any, error) { return d.fake.Acknowledge(ctx, ack) }, asRecord(ack))
	return err
}

func (d *deadLetterer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod != pb.Subscriber_StreamingPull_FullMethodName {
		return handler(srv, ss)
	}
	return handler(srv, &pullStream{ServerStream: ss, dl: d})
}

// pullStream diverts dead-letter-bound messages out of one StreamingPull.
type pullStream struct {
	grpc.ServerStream
	dl *deadLetterer
	// Set by the first request, which pstest reads before it starts sending.
	sub string
}

func (s *pullStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if req, ok := m.(*pb.StreamingPullRequest); ok && err == nil {
		if s.sub == "" {
			s.sub = req.GetSubscription()
		}
		s.dl.journal.recordAcks(s.sub, req.GetAckIds())
	}
	return err
}

func (s *pullStream) SendMsg(m any) error {
	resp, ok := m.(*pb.StreamingPullResponse)
	if !ok || len(resp.GetReceivedMessages()) == 0 {
		return s.ServerStream.SendMsg(m)
	}
	kept := s.dl.divert(s.sub, resp.GetReceivedMessages())
	switch {
	case len(kept) == 0:
		return nil // everything went to the dead-letter topic
	case len(kept) < len(resp.GetReceivedMessages()):
		resp = &pb.StreamingPullResponse{ReceivedMessages: kept, SubscriptionProperties: resp.GetSubscriptionProperties()}
	}
	return s.ServerStream.SendMsg(resp)
}
