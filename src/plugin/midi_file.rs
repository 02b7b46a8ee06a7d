//! A Standard MIDI File (format 0) of the analysis: the score as a controller and each cut as
//! a held note, so the markers can be dragged into any DAW's MIDI track.

/// Ticks per quarter note.
const DIVISION: u16 = 480;

/// One timed MIDI message, at a position in quarter notes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedMessage {
    /// Position in quarter notes from the song start.
    pub beats: f64,
    /// Status byte and data bytes.
    pub bytes: [u8; 3],
}

/// Builds a format-0 file at `tempo_bpm` from messages (sorted here by time).
pub fn write_smf(tempo_bpm: f64, mut messages: Vec<TimedMessage>) -> Vec<u8> {
    messages.sort_by(|a, b| a.beats.total_cmp(&b.beats));
    let mut track = Vec::new();
    // Tempo meta event: microseconds per quarter note, 3 bytes.
    let tempo = if tempo_bpm.is_finite() && tempo_bpm > 0.0 {
        tempo_bpm
    } else {
        120.0
    };
    let micros = ((60_000_000.0 / tempo).round() as u32).min(0xFF_FFFF);
    track.extend_from_slice(&[0x00, 0xFF, 0x51, 0x03]);
    track.extend_from_slice(&micros.to_be_bytes()[1..]);
    let mut last_tick = 0u64;
    for m in &messages {
        let tick = (m.beats.max(0.0) * f64::from(DIVISION)).round() as u64;
        write_var_len(&mut track, tick.saturating_sub(last_tick));
        last_tick = tick.max(last_tick);
        track.extend_from_slice(&m.bytes);
    }
    track.extend_from_slice(&[0x00, 0xFF, 0x2F, 0x00]);

    let mut file = Vec::with_capacity(track.len() + 22);
    file.extend_from_slice(b"MThd");
    file.extend_from_slice(&6u32.to_be_bytes());
    file.extend_from_slice(&0u16.to_be_bytes());
    file.extend_from_slice(&1u16.to_be_bytes());
    file.extend_from_slice(&DIVISION.to_be_bytes());
    file.extend_from_slice(b"MTrk");
    file.extend_from_slice(&(track.len() as u32).to_be_bytes());
    file.extend_from_slice(&track);
    file
}

/// MIDI's variable-length quantity: 7 bits per byte, high bit set on all but the last.
fn write_var_len(out: &mut Vec<u8>, value: u64) {
    let value = value.min(0x0FFF_FFFF);
    let mut groups = [0u8; 4];
    let mut n = 0;
    let mut v = value;
    loop {
        groups[n] = (v & 0x7F) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_length_quantities_match_the_spec_examples() {
        for (value, bytes) in [
            (0u64, vec![0x00]),
            (0x40, vec![0x40]),
            (0x7F, vec![0x7F]),
            (0x80, vec![0x81, 0x00]),
            (0x2000, vec![0xC0, 0x00]),
            (0x1F_FFFF, vec![0xFF, 0xFF, 0x7F]),
            (0x0FFF_FFFF, vec![0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            let mut out = Vec::new();
            write_var_len(&mut out, value);
            assert_eq!(out, bytes, "{value:#x}");
        }
    }

    #[test]
    fn a_file_has_a_header_one_track_and_sorted_events() {
        let on = TimedMessage {
            beats: 2.0,
            bytes: [0x90, 60, 100],
        };
        let off = TimedMessage {
            beats: 3.0,
            bytes: [0x80, 60, 0],
        };
        let file = write_smf(120.0, vec![off, on]);
        assert_eq!(&file[..4], b"MThd");
        assert_eq!(&file[14..18], b"MTrk");
        let track = &file[22..];
        // Tempo (500 000 us per quarter at 120 BPM), then note on 960 ticks in, off 480 later.
        assert_eq!(&track[..7], &[0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20]);
        assert_eq!(&track[7..12], &[0x87, 0x40, 0x90, 60, 100]);
        assert_eq!(&track[12..17], &[0x83, 0x60, 0x80, 60, 0]);
        assert_eq!(&track[17..], &[0x00, 0xFF, 0x2F, 0x00]);
    }
}
