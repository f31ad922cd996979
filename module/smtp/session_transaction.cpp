// Session, the mail's part: the (pipelined) envelope, DATA or BDAT streaming, the final
// reply, and a batch of messages over one session with RSET between them.
#include "smtp/session.hpp"

#include <algorithm>
#include <memory>

#include "smtp/commands.hpp"
#include "smtp/encoder.hpp"
#include "smtp/error.hpp"

namespace smtpn::smtp {
namespace {

using Kind = SmtpError::Kind;

// The encoded message goes out in kDataChunk pieces from one buffer per thread, kept between
// sends and never zero-filled: no allocation and no page faults once warm, and each piece is
// written while it is still in cache. Its head has room for the BDAT command.
constexpr std::size_t kChunkHead = 64;
char* chunk_buffer() {
  thread_local const std::unique_ptr<char[]> chunk(new char[kChunkHead + kDataChunk]);
  return chunk.get();
}

}  // namespace

void Session::stream_data(std::string_view message, std::size_t size) {
  DataEncoder encoder(message, DataEncoder::Mode::kData);
  char* const chunk = chunk_buffer();
  std::size_t sent = 0;
  const std::size_t total = size + 3;
  if (options_.trace) options_.trace("C: <message: " + std::to_string(size) + " bytes>");
  while (!encoder.done()) {
    const std::size_t n = encoder.encode_into(chunk, kDataChunk);
    transport_.write_all({chunk, n}, net::Deadline::after_seconds(timeouts_.data_block));
    if (encoder.done()) dot_written_ = true;  // the chunk carried the terminator
    sent += n;
    progress(Phase::kData, std::min(sent, total), total);
  }
  if (options_.trace) options_.trace("C: .");
}

// BDAT LAST with SIZE, the message's normalised size, encoded on the fly like DATA (one pass,
// no copy of the whole encoded message).
void Session::stream_bdat(std::string_view message, std::size_t size) {
  const std::string command = "BDAT " + std::to_string(size) + " LAST\r\n";
  if (options_.trace) {
    options_.trace("C: " + command.substr(0, command.size() - 2));
    options_.trace("C: <message: " + std::to_string(size) + " bytes>");
  }
  DataEncoder encoder(message, DataEncoder::Mode::kBdat);
  char* const chunk = chunk_buffer();
  // The command rides in the first write with the start of the body, in the buffer's head.
  char* const body = chunk + kChunkHead;
  std::size_t sent = 0;
  bool first = true;
  while (!encoder.done()) {
    const std::size_t n = encoder.encode_into(body, kDataChunk);
    // The count was promised in the command: an encoder that disagreed with normalised_size
    // must not leave the server waiting for bytes (or reading ours as commands).
    if (sent + n > size || (encoder.done() && sent + n != size))
      throw SmtpError(Kind::kProtocol, "internal error: the BDAT chunk is not the size announced");
    char* const from = first ? body - command.size() : body;
    if (first) std::copy(command.begin(), command.end(), from);
    transport_.write_all({from, static_cast<std::size_t>(body + n - from)},
                         net::Deadline::after_seconds(timeouts_.data_block));
    sent += n;
    first = false;
    if (sent == size) dot_written_ = true;  // BDAT LAST: the chunk's end is the message's
    progress(Phase::kData, sent, size);
  }
}

void Session::transmit(const MailOptions& mail, std::string_view message, SendResult& result) {
  dot_written_ = false;
  progress(Phase::kEnvelope);
  // With CHUNKING a large message goes by BDAT, its count the normalised size (also SIZE's).
  const bool bdat = caps_.chunking && message.size() >= kBdatThreshold;
  const MessageShape shape = scan_message(message);
  const MessageFacts facts{shape.normalised_size, shape.eight_bit};
  if (caps_.size_limit && facts.size > *caps_.size_limit)
    throw SmtpError(Kind::kPermanent,
                    "the message is " + std::to_string(facts.size) +
                        " bytes, more than the server's SIZE limit of " + std::to_string(*caps_.size_limit) +
                        " bytes; nothing was sent",
                    552, "5.3.4");
  // DATA joins the pipelined batch only when a rejected recipient cannot leave us in DATA
  // mode with a transaction to abandon: one recipient, or partial delivery allowed.
  const bool pipeline = caps_.pipelining;
  const bool pipeline_data = pipeline && !bdat && (mail.allow_partial || mail.recipients.size() == 1);

  std::vector<std::string> lines{mail_command(mail, caps_, facts)};
  for (const auto& r : mail.recipients) lines.push_back(rcpt_command(r, mail, caps_));

  std::optional<Reply> data_reply;
  Reply mail_reply;
  std::vector<Reply> rcpt_replies;
  if (pipeline) {
    std::string batch;
    const bool reset = reset_pending_;
    reset_pending_ = false;
    if (reset) lines.insert(lines.begin(), "RSET");  // RFC 2920: RSET may open a group
    if (pipeline_data) lines.push_back("DATA");
    for (const auto& line : lines) {
      if (options_.trace) options_.trace("C: " + line);
      batch.append(line).append("\r\n");
    }
    transport_.write_all(batch, net::Deadline::after_seconds(timeouts_.command));
    if (reset) {
      // The rest of the group is unread: refused, the session ends here, nothing sent.
      const Reply reset_reply = read_reply(timeouts_.command);
      if (reset_reply.klass() != 2)
        throw SmtpError(Kind::kProtocol, "the server refused RSET between messages: " + reset_reply.summary(),
                        reset_reply.code, reset_reply.enhanced, reset_reply.text());
    }
    mail_reply = read_reply(timeouts_.command);
    for (std::size_t i = 0; i < mail.recipients.size(); ++i)
      rcpt_replies.push_back(read_reply(timeouts_.command));
    if (pipeline_data) data_reply = read_reply(timeouts_.data_init);
  } else {
    mail_reply = command(lines[0], timeouts_.command);
    if (mail_reply.klass() == 2)
      for (std::size_t i = 0; i < mail.recipients.size(); ++i)
        rcpt_replies.push_back(command(lines[i + 1], timeouts_.command));
  }

  if (mail_reply.klass() != 2) {
    if (!data_reply || data_reply->code != 354) reset_quietly();
    fail_reply(mail_reply, "the server refused the sender <" + mail.from + ">");
  }
  for (std::size_t i = 0; i < rcpt_replies.size(); ++i) {
    if (rcpt_replies[i].klass() == 2)
      result.accepted.push_back(mail.recipients[i]);
    else
      result.rejected.push_back({mail.recipients[i], rcpt_replies[i]});
  }
  if (data_reply && data_reply->code == 354 &&
      (result.accepted.empty() || (!result.rejected.empty() && !mail.allow_partial)))
    throw SmtpError(Kind::kProtocol,
                    "the server accepted DATA without an accepted recipient; connection dropped "
                    "so that nothing is delivered");
  if (result.accepted.empty() || (!result.rejected.empty() && !mail.allow_partial)) {
    reset_quietly();
    std::string list;
    bool all_temporary = true;
    for (const auto& rej : result.rejected) {
      if (!list.empty()) list += "; ";
      list += "<" + rej.recipient + ">: " + rej.reply.summary();
      all_temporary = all_temporary && rej.reply.klass() == 4;
    }
    const Reply& first = result.rejected.front().reply;
    SmtpError error(all_temporary ? Kind::kTemporary : Kind::kPermanent,
                    "the server rejected " + std::to_string(result.rejected.size()) + " of " +
                        std::to_string(mail.recipients.size()) + " recipients; nothing was sent: " + list,
                    first.code, first.enhanced, first.text());
    error.rejected = result.rejected;
    throw error;
  }

  phase_ = Phase::kData;  // DATA's own refusal belongs to the data phase
  if (!bdat) {
    if (!data_reply) data_reply = command("DATA", timeouts_.data_init);
    if (data_reply->code != 354) fail_reply(*data_reply, "the server refused DATA");
  }
  mid_data_ = true;
  progress(Phase::kData, 0, facts.size);
  if (bdat)
    stream_bdat(message, facts.size);
  else
    stream_data(message, facts.size);
  // From here (dot_written_) a failure leaves delivery unknown, but for the server's verdict.
  result.final_reply = read_reply(timeouts_.data_end);
  mid_data_ = false;
  if (result.final_reply.klass() == 4 || result.final_reply.klass() == 5) {
    SmtpError error(kind_for_reply(result.final_reply),
                    "the server did not accept the message: " + result.final_reply.summary(),
                    result.final_reply.code, result.final_reply.enhanced, result.final_reply.text());
    error.delivery = Delivery::kNotSent;  // a refusal read whole is a verdict
    throw error;
  }
  if (result.final_reply.klass() != 2)
    throw SmtpError(Kind::kProtocol, "the server answered the message with " + result.final_reply.summary() +
                                         ", neither accepted nor refused: delivery status unknown",
                    result.final_reply.code, result.final_reply.enhanced, result.final_reply.text());
  result.delivery = result.rejected.empty() ? Delivery::kSent : Delivery::kPartial;
}

SendResult Session::transaction(const MailOptions& mail, std::string_view message) {
  SendResult result;
  transmit(mail, message, result);
  result.tls = tls_;
  result.mechanism = mechanism_used_;
  result.capabilities = caps_.lines;
  result.host = options_.host;
  result.port = options_.port;
  return result;
}

std::vector<BatchOutcome> Session::send_batch(const std::vector<BatchItem>& items,
                                              const OutcomeFn& on_outcome) {
  sending_ = true;
  validate(nullptr);
  std::vector<BatchOutcome> outcomes(items.size());
  std::vector<bool> valid(items.size(), true);
  for (std::size_t i = 0; i < items.size(); ++i) {
    try {
      validate(&items[i].mail);
    } catch (const SmtpError& e) {
      outcomes[i].error = e;
      valid[i] = false;
      if (on_outcome) on_outcome(i, outcomes[i]);
    }
  }
  std::size_t next = 0;  // the first message not yet decided when the connection is lost
  try {
    guarded([&] {
      open();
      authenticate();
      bool first = true;
      for (; next < items.size(); ++next) {
        if (!valid[next]) continue;
        if (!first) {
          // A clean slate for every transaction after the first (RFC 5321 §4.1.1.5); with
          // PIPELINING it goes with the next envelope, saving a round trip a message.
          if (caps_.pipelining) {
            reset_pending_ = true;
          } else {
            const Reply reset = command("RSET", timeouts_.command);
            if (reset.klass() != 2) fail_reply(reset, "the server refused RSET between messages");
          }
        }
        first = false;
        try {
          outcomes[next].result = transaction(items[next].mail, items[next].message);
        } catch (const SmtpError& e) {
          // A refusal ends one transaction, not the session; 421 ends the session.
          const bool session_ok =
              (e.kind() == Kind::kTemporary || e.kind() == Kind::kPermanent) && e.code() != 421;
          if (!session_ok) throw;
          outcomes[next].error = e;
          stamp(*outcomes[next].error);
        }
        // This message is decided; the session stands between transactions.
        dot_written_ = false;
        phase_ = Phase::kEnvelope;
        if (on_outcome) on_outcome(next, outcomes[next]);
      }
      finish();
    });
  } catch (const SmtpError& e) {
    if (e.kind() == Kind::kInterrupted) throw;  // C-g: the caller stops, it does not record
    // The session is gone: this message and every later one share its fate.
    for (std::size_t i = next; i < items.size(); ++i) {
      if (!valid[i] || outcomes[i].result || outcomes[i].error) continue;
      if (i == next) {
        outcomes[i].error = e;
      } else {
        SmtpError& later = outcomes[i].error.emplace(
            e.kind() == Kind::kInterrupted ? Kind::kInterrupted : Kind::kConnection,
            std::string("not sent: the session ended before this message: ") + e.what(), e.code(),
            e.enhanced_status(), e.reply_text());
        later.phase = e.phase;
        later.delivery = Delivery::kNotSent;  // never begun
        later.auth = e.auth;
        later.host = e.host;
        later.port = e.port;
      }
      if (on_outcome) on_outcome(i, outcomes[i]);
    }
  }
  return outcomes;
}

}  // namespace smtpn::smtp
