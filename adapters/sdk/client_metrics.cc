#include "adapters/sdk/client_metrics.h"

namespace relais::sdk {

void WriteClientMetrics(metrics::TextWriter& w, const std::string& participant,
                        const Client* client) {
  using Type = metrics::TextWriter::Type;
  const metrics::Labels who = {{"participant", participant}};
  w.Family("relais_client_connected",
           "1 while the connection to relaisd is up (welcomed).", Type::kGauge);
  w.Sample(who, int64_t{client != nullptr && client->connected() ? 1 : 0});
  if (client == nullptr) return;
  const ClientStats& s = client->stats();
  w.Family("relais_client_awaiting_answer",
           "Requests sent to relaisd (submits, statuses, queries) not yet "
           "answered.",
           Type::kGauge);
  w.Sample(who, s.awaiting_answer.load());
  struct Figure {
    const char* name;
    const char* help;
    const std::atomic<uint64_t>& value;
  };
  const Figure figures[] = {
      {"relais_client_connects_total", "Connections welcomed by relaisd.",
       s.connects},
      {"relais_client_submits_total", "Submits sent (first sends).",
       s.submits_sent},
      {"relais_client_resends_total",
       "Submits sent again (no answer before a reconnection or a timeout).",
       s.resends},
      {"relais_client_accepted_total", "Submits accepted by relaisd.",
       s.accepted},
      {"relais_client_rejected_total", "Submits refused by relaisd.",
       s.rejected},
      {"relais_client_deliveries_total", "Deliveries received.", s.deliveries},
      {"relais_client_deliveries_handled_total",
       "Deliveries handed to the partner and acknowledged Processed.",
       s.handled},
      {"relais_client_deliveries_refused_total",
       "Deliveries acknowledged Rejected (their envelope or payload "
       "refused).",
       s.deliveries_rejected},
  };
  for (const auto& f : figures) {
    w.Family(f.name, f.help, Type::kCounter);
    w.Sample(who, f.value.load());
  }
}

}  // namespace relais::sdk
