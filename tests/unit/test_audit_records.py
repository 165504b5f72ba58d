"""The audit topic's records: consecutive log entries packed in one record read back as the
same entries, and a record of one entry (the older form) still reads."""

from __future__ import annotations

from events.log import Entry, entries_message, entries_of_message, entry_message


def entries(count: int) -> list[Entry]:
    return [
        Entry(
            seq, f'{{"event_id":"e-{seq}","note":"line\\nbreak"}}', f"{seq - 1:064x}", f"{seq:064x}"
        )
        for seq in range(1, count + 1)
    ]


def test_a_packed_record_reads_back_as_its_entries_in_order() -> None:
    packed = entries(200)
    assert entries_of_message(entries_message(packed)) == packed


def test_a_record_of_one_entry_in_the_older_form_still_reads() -> None:
    [entry] = entries(1)
    assert entries_of_message(entry_message(entry)) == [entry]
