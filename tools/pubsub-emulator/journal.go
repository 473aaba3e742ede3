package main

// The journal makes the emulator's state survive a restart (--journal FILE): pstest keeps
// everything in memory, so a restart mid-stream used to lose every message it still held.
//
// Every call that changes state (topics, subscriptions, publishes and acks, streamed or unary) is
// applied to pstest and appended to the file as one record before the client gets its answer.
// Records are written without fsync: a killed emulator loses nothing (the kernel has the bytes),
// a crashed host can lose the last moments, as with any page-cache log.
//
// On start the file is read into an index of what is left (topics, subscriptions, and each
// message with the subscriptions that have not acked it), pstest is rebuilt from that index with
// the original message IDs and publish times, and the file is rewritten as the index alone. The
// same compaction runs while serving once the file has grown well past its last compacted size,
// so a long-running stack keeps a file the size of its backlog, not of its history.
//
// Not journaled, because the project's clients do not use them: seeks, snapshots, schemas and
// detached subscriptions. An ack of an earlier delivery of a message that was redelivered
// counts as its ack here (pstest ignores it and waits for the ack of the latest delivery): the
// client acked it after it had handled it.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

type recordKind byte

const (
	recCreateTopic recordKind = iota + 1 // pb.Topic
	recDeleteTopic                       // pb.DeleteTopicRequest
	recPutSub                            // pb.Subscription as clients see it (created or updated)
	recDeleteSub                         // pb.DeleteSubscriptionRequest
	recPublish                           // pb.PublishRequest with IDs and publish times filled in
	recAck                               // pb.AcknowledgeRequest
	recNextID                            // 8 bytes: the number of the next message ID
)

const (
	// Compact while serving once the file is this much larger than after the last compaction.
	compactGrowth   = 4
	compactMinBytes = 64 << 20
	// A record larger than this is a torn or foreign file, never one we wrote (publishes are 10 MB at most).
	maxRecordBytes = 64 << 20
)

type pendingMessage struct {
	n     int // the number in pstest's message ID "m<n>"
	topic string
	msg   *pb.PubsubMessage
	subs  map[string]bool // subscriptions that have not acked it
}

type journal struct {
	mu      sync.Mutex
	path    string
	file    *os.File
	out     *bufio.Writer
	size    int64
	compact int64 // the file's size after the last compaction

	topics map[string]*pb.Topic
	subs   map[string]*pb.Subscription
	msgs   map[string]*pendingMessage
	nextID int
}

func newJournalIndex(path string) *journal {
	return &journal{path: path, topics: map[string]*pb.Topic{}, subs: map[string]*pb.Subscription{}, msgs: map[string]*pendingMessage{}}
}

// openJournal reads the file at path (if any) into the index and rewrites it compacted.
func openJournal(path string) (*journal, error) {
	j := newJournalIndex(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := j.load(); err != nil {
		return nil, err
	}
	if err := j.rewrite(); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *journal) load() error {
	f, err := os.Open(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	in := bufio.NewReaderSize(f, 1<<20)
	for count := 0; ; count++ {
		kind, body, err := readRecord(in)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			// The emulator was killed inside a write: that call was never answered, so dropping it loses nothing.
			log.Printf("journal %s: ignoring a torn last record after %d records", j.path, count)
			return nil
		}
		if err != nil {
			return fmt.Errorf("journal %s, record %d: %w", j.path, count+1, err)
		}
		if err := j.apply(kind, body); err != nil {
			return fmt.Errorf("journal %s, record %d: %w", j.path, count+1, err)
		}
	}
}

func readRecord(in *bufio.Reader) (recordKind, []byte, error) {
	kind, err := in.ReadByte()
	if err != nil {
		return 0, nil, err // io.EOF: a clean end
	}
	if kind < byte(recCreateTopic) || kind > byte(recNextID) {
		return 0, nil, fmt.Errorf("unknown record kind %d: not a journal this emulator wrote", kind)
	}
	n, err := binary.ReadUvarint(in)
	if err != nil {
		return 0, nil, io.ErrUnexpectedEOF
	}
	if n > maxRecordBytes {
		return 0, nil, fmt.Errorf("a record of %d bytes: not a journal this emulator wrote", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(in, body); err != nil {
		return 0, nil, io.ErrUnexpectedEOF
	}
	return recordKind(kind), body, nil
}

// apply changes the index by one record, as read from the file or as just done live.
func (j *journal) apply(kind recordKind, body []byte) error {
	if kind == recNextID {
		if len(body) != 8 {
			return errors.New("a next-id record of the wrong size")
		}
		j.nextID = max(j.nextID, int(binary.BigEndian.Uint64(body)))
		return nil
	}
	msg, err := newRecordMessage(kind)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(body, msg); err != nil {
		return err
	}
	j.applyMessage(msg)
	return nil
}

// recordTypes is the payload of each record kind (recNextID has none: it is 8 bytes).
var recordTypes = map[recordKind]func() proto.Message{
	recCreateTopic: func() proto.Message { return &pb.Topic{} },
	recDeleteTopic: func() proto.Message { return &pb.DeleteTopicRequest{} },
	recPutSub:      func() proto.Message { return &pb.Subscription{} },
	recDeleteSub:   func() proto.Message { return &pb.DeleteSubscriptionRequest{} },
	recPublish:     func() proto.Message { return &pb.PublishRequest{} },
	recAck:         func() proto.Message { return &pb.AcknowledgeRequest{} },
}

var recordKinds = func() map[protoreflect.FullName]recordKind {
	out := map[protoreflect.FullName]recordKind{}
	for kind, newMsg := range recordTypes {
		out[newMsg().ProtoReflect().Descriptor().FullName()] = kind
	}
	return out
}()

func newRecordMessage(kind recordKind) (proto.Message, error) {
	if newMsg, ok := recordTypes[kind]; ok {
		return newMsg(), nil
	}
	return nil, fmt.Errorf("unknown record kind %d", kind)
}

func kindOf(msg proto.Message) recordKind {
	if kind, ok := recordKinds[msg.ProtoReflect().Descriptor().FullName()]; ok {
		return kind
	}
	panic(fmt.Sprintf("journal: no record kind for %T", msg))
}

func (j *journal) applyMessage(msg proto.Message) {
	switch m := msg.(type) {
	case *pb.Topic:
		j.topics[m.GetName()] = m
	case *pb.DeleteTopicRequest:
		delete(j.topics, m.GetTopic())
	case *pb.Subscription:
		j.subs[m.GetName()] = m
	case *pb.DeleteSubscriptionRequest:
		j.forgetSub(m.GetSubscription())
	case *pb.PublishRequest:
		j.addPublished(m)
	case *pb.AcknowledgeRequest:
		j.acked(m.GetSubscription(), m.GetAckIds())
	}
}

func (j *journal) forgetSub(name string) {
	delete(j.subs, name)
	for id, m := range j.msgs {
		delete(m.subs, name)
		if len(m.subs) == 0 {
			delete(j.msgs, id)
		}
	}
}

func (j *journal) addPublished(req *pb.PublishRequest) {
	for _, pm := range req.GetMessages() {
		n, ok := messageNumber(pm.GetMessageId())
		if !ok {
			continue
		}
		j.nextID = max(j.nextID, n+1)
		waiting := map[string]bool{}
		for name, s := range j.subs {
			if s.GetTopic() == req.GetTopic() {
				waiting[name] = true
			}
		}
		if len(waiting) > 0 {
			j.msgs[pm.GetMessageId()] = &pendingMessage{n: n, topic: req.GetTopic(), msg: pm, subs: waiting}
		}
	}
}

func (j *journal) acked(sub string, ackIDs []string) {
	for _, ackID := range ackIDs {
		id := ackID
		if i := strings.LastIndex(ackID, ":"); i >= 0 {
			id = ackID[:i] // pstest's ack IDs are "<message id>:<delivery>"
		}
		if m := j.msgs[id]; m != nil {
			delete(m.subs, sub)
			if len(m.subs) == 0 {
				delete(j.msgs, id)
			}
		}
	}
}

// messageNumber is n of pstest's message ID "m<n>".
func messageNumber(id string) (int, bool) {
	if !strings.HasPrefix(id, "m") {
		return 0, false
	}
	n, err := strconv.Atoi(id[1:])
	return n, err == nil && n >= 0
}

// record applies msg to the index and appends it to the file; the caller holds j.mu.
func (j *journal) record(msg proto.Message) error {
	body, err := proto.Marshal(msg)
	if err != nil {
		return err
	}
	j.applyMessage(msg)
	if err := j.write(kindOf(msg), body); err != nil {
		return err
	}
	if err := j.out.Flush(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if j.size > max(compactMinBytes, compactGrowth*j.compact) {
		return j.rewrite()
	}
	return nil
}

func (j *journal) write(kind recordKind, body []byte) error {
	var head [1 + binary.MaxVarintLen64]byte
	head[0] = byte(kind)
	n := 1 + binary.PutUvarint(head[1:], uint64(len(body)))
	if _, err := j.out.Write(head[:n]); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if _, err := j.out.Write(body); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.size += int64(n + len(body))
	return nil
}

// rewrite replaces the file with the index alone (written to a temporary file, synced, renamed).
func (j *journal) rewrite() error {
	if j.file != nil {
		_ = j.file.Close()
	}
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.file, j.out, j.size = f, bufio.NewWriterSize(f, 1<<16), 0
	if err := j.writeIndex(); err != nil {
		return err
	}
	if err := j.out.Flush(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.compact = j.size
	return nil
}

func (j *journal) writeIndex() error {
	var next [8]byte
	binary.BigEndian.PutUint64(next[:], uint64(j.nextID))
	if err := j.write(recNextID, next[:]); err != nil {
		return err
	}
	for _, msg := range j.snapshot() {
		body, err := proto.Marshal(msg)
		if err != nil {
			return err
		}
		if err := j.write(kindOf(msg), body); err != nil {
			return err
		}
	}
	return nil
}

// snapshot is the index as the calls that rebuild it: topics, subscriptions, then each message
// still held, in publish order, each followed by the acks of subscriptions that no longer hold it.
func (j *journal) snapshot() []proto.Message {
	var out []proto.Message
	for _, t := range j.topics {
		out = append(out, t)
	}
	for _, s := range j.subs {
		out = append(out, s)
	}
	for _, m := range j.inOrder() {
		out = append(out, &pb.PublishRequest{Topic: m.topic, Messages: []*pb.PubsubMessage{m.msg}})
		for name, s := range j.subs {
			if s.GetTopic() == m.topic && !m.subs[name] {
				out = append(out, &pb.AcknowledgeRequest{Subscription: name, AckIds: []string{m.msg.GetMessageId()}})
			}
		}
	}
	return out
}

func (j *journal) inOrder() []*pendingMessage {
	out := make([]*pendingMessage, 0, len(j.msgs))
	for _, m := range j.msgs {
		out = append(out, m)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].n < out[b].n })
	return out
}

// restore rebuilds the fake from the index before it serves: topics, subscriptions (through the
// dead-letterer, which keeps their real limits), and every message still held with its original
// ID and publish time.
func (j *journal) restore(fake *pstest.Server, dl *deadLetterer) error {
	ctx := context.Background()
	g := &fake.GServer
	for _, t := range j.topics {
		if _, err := g.CreateTopic(ctx, t); err != nil {
			return fmt.Errorf("journal: topic %s: %w", t.GetName(), err)
		}
	}
	createSub := func(ctx context.Context, req any) (any, error) {
		return g.CreateSubscription(ctx, req.(*pb.Subscription))
	}
	for _, s := range j.subs {
		if _, err := dl.create(ctx, proto.Clone(s).(*pb.Subscription), createSub); err != nil {
			return fmt.Errorf("journal: subscription %s: %w", s.GetName(), err)
		}
	}
	defer fake.SetTimeNowFunc(time.Now)
	for _, m := range j.inOrder() {
		if err := j.restoreMessage(fake, m); err != nil {
			return err
		}
	}
	setNextMessageNumber(g, j.nextID)
	return nil
}

func (j *journal) restoreMessage(fake *pstest.Server, m *pendingMessage) error {
	ctx := context.Background()
	g := &fake.GServer
	if _, ok := j.topics[m.topic]; !ok {
		return nil // its topic was deleted; pstest would refuse the publish
	}
	published := m.msg.GetPublishTime().AsTime()
	fake.SetTimeNowFunc(func() time.Time { return published })
	setNextMessageNumber(g, m.n)
	copyOf := &pb.PubsubMessage{Data: m.msg.GetData(), Attributes: m.msg.GetAttributes(), OrderingKey: m.msg.GetOrderingKey()}
	resp, err := g.Publish(ctx, &pb.PublishRequest{Topic: m.topic, Messages: []*pb.PubsubMessage{copyOf}})
	if err != nil {
		return fmt.Errorf("journal: message %s: %w", m.msg.GetMessageId(), err)
	}
	if got := resp.GetMessageIds()[0]; got != m.msg.GetMessageId() {
		return fmt.Errorf("journal: message %s came back as %s: pstest's IDs changed, see setNextMessageNumber", m.msg.GetMessageId(), got)
	}
	for name, s := range j.subs {
		if s.GetTopic() == m.topic && !m.subs[name] {
			if _, err := g.Acknowledge(ctx, &pb.AcknowledgeRequest{Subscription: name, AckIds: []string{m.msg.GetMessageId()}}); err != nil {
				return fmt.Errorf("journal: ack of %s on %s: %w", m.msg.GetMessageId(), name, err)
			}
		}
	}
	return nil
}

// setNextMessageNumber sets pstest's unexported message counter, so that restored messages keep
// their IDs and new ones never reuse an ID a client has seen (the consumer takes a known
// message_id for a redelivery). pstest has no option for it; restoreMessage checks every ID it
// gets back, so a pstest that changes this field fails the start loudly instead of reusing IDs.
func setNextMessageNumber(g *pstest.GServer, n int) {
	field := reflect.ValueOf(g).Elem().FieldByName("nextID")
	reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem().SetInt(int64(n))
}

// change runs call (a pstest handler) and, if it succeeds, records what it did, as one step:
// no other change can come between a publish and its record.
func (j *journal) change(call func() (any, error), toRecord func(resp any) proto.Message) (any, error) {
	if j == nil {
		return call()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	resp, err := call()
	if err != nil {
		return resp, err
	}
	if msg := toRecord(resp); msg != nil {
		if err := j.record(msg); err != nil {
			log.Printf("%v: the emulator goes on, but a restart would lose this change", err)
		}
	}
	return resp, nil
}

// recordAcks records acks that arrive on a streaming pull, before pstest applies them.
func (j *journal) recordAcks(sub string, ackIDs []string) {
	if j == nil || len(ackIDs) == 0 || sub == "" {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.record(&pb.AcknowledgeRequest{Subscription: sub, AckIds: ackIDs}); err != nil {
		log.Printf("%v: the emulator goes on, but a restart would redeliver these acked messages", err)
	}
}

func (j *journal) close() error {
	if j == nil || j.file == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.out.Flush(); err != nil {
		return err
	}
	return j.file.Close()
}

// unary journals the calls that change state; the others pass straight through.
func (j *journal) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if j == nil {
		return handler(ctx, req)
	}
	call := func() (any, error) { return handler(ctx, req) }
	switch r := req.(type) {
	case *pb.Topic, *pb.Subscription, *pb.UpdateSubscriptionRequest:
		// What pstest answers is what it holds: the topic or subscription with defaults filled in.
		return j.change(call, func(resp any) proto.Message { return resp.(proto.Message) })
	case *pb.DeleteTopicRequest, *pb.DeleteSubscriptionRequest, *pb.AcknowledgeRequest:
		return j.change(call, asRecord(r.(proto.Message)))
	case *pb.PublishRequest:
		// pstest fills in each message's ID and publish time in the request itself.
		return j.change(call, asRecord(r))
	}
	return handler(ctx, req)
}

func asRecord(msg proto.Message) func(any) proto.Message {
	return func(any) proto.Message { return msg }
}
