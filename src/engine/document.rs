//! A planned task → the Transfer document sent with `POST /transfer`. Pure: the submission id
//! comes from the ledger, everything else from the plan, so a re-run builds the same document.

use crate::globus::{FilterRule, FilterRuleTag, SubmissionId, TransferDocument, TransferItem};
use crate::plan::Task;

/// The document for `task` under `submission_id`. The deadline is sent as the API returns it
/// (ISO 8601 with an offset); `--notify` is sent only when it differs from the service default.
pub fn transfer_document(task: &Task, submission_id: SubmissionId) -> TransferDocument {
    let o = &task.options;
    let mut doc = TransferDocument::new(submission_id, task.source.id, task.destination.id);
    doc.label = Some(task.label.clone());
    doc.sync_level = o.sync_level;
    doc.verify_checksum = o.verify_checksum;
    doc.preserve_timestamp = o.preserve_timestamp;
    doc.encrypt_data = o.encrypt_data;
    doc.skip_source_errors = o.skip_source_errors;
    doc.fail_on_quota_errors = o.fail_on_quota_errors;
    doc.delete_destination_extra = o.delete_destination_extra;
    doc.deadline = o
        .deadline
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
    if o.notify != crate::options::Notify::default() {
        doc.notify_on_succeeded = Some(o.notify.on_succeeded);
        doc.notify_on_failed = Some(o.notify.on_failed);
        doc.notify_on_inactive = Some(o.notify.on_inactive);
    }
    doc.filter_rules = o
        .filter_rules
        .iter()
        .map(|r| FilterRule {
            data_type: FilterRuleTag,
            method: r.method,
            name: r.name.clone(),
            kind: None,
        })
        .collect();
    doc.items = task
        .items
        .iter()
        .map(|i| {
            let mut item = TransferItem::new(&i.source_path, &i.destination_path);
            item.recursive = i.recursive;
            item.external_checksum.clone_from(&i.external_checksum);
            item.checksum_algorithm = i.checksum_algorithm.as_ref().map(|a| a.as_str().to_owned());
            item
        })
        .collect();
    doc
}

/// The items as the ledger keeps them (a JSON summary it does not interpret).
pub fn items_summary(task: &Task) -> String {
    let items: Vec<serde_json::Value> = task
        .items
        .iter()
        .map(|i| serde_json::json!({"source": i.source_path, "destination": i.destination_path}))
        .collect();
    serde_json::Value::Array(items).to_string()
}
