/**
 * Media bytes for a recording: silence of the recording's length, in the two formats
 * Twilio serves (`.wav`, the default without an extension, and `.mp3`). The sandbox has
 * no audio to give, but a client that downloads, probes or plays a recording should get
 * a well-formed file of the right length rather than an empty body.
 *
 * - WAV: RIFF/WAVE, PCM, 8 kHz, mono, 16-bit (Twilio's telephony rate), all samples zero.
 * - MP3: MPEG-1 Layer III frames, 32 kbit/s, 44.1 kHz, mono, no CRC, every frame with zero
 *   side information (part2_3_length 0, no main data), which every decoder plays as
 *   silence. MPEG-1 because 8 kHz exists only in the unofficial MPEG-2.5 extension.
 *
 * Both are capped at MAX_AUDIO_SECONDS (a one-hour recording would otherwise be 57 MB of
 * zeros in memory); the file's header then describes the capped length, so it stays valid.
 */

/** Longest audio served; longer recordings are truncated to this (the headers say so). */
export const MAX_AUDIO_SECONDS = 30;

const WAV_SAMPLE_RATE = 8000;
const WAV_BYTES_PER_SAMPLE = 2;
const WAV_HEADER_BYTES = 44;

const servedSeconds = (durationSeconds: number) =>
  Math.min(MAX_AUDIO_SECONDS, Math.max(0, Number.isFinite(durationSeconds) ? durationSeconds : 0));

export function silentWav(durationSeconds: number): Buffer {
  const dataBytes = Math.round(servedSeconds(durationSeconds) * WAV_SAMPLE_RATE) * WAV_BYTES_PER_SAMPLE;
  const wav = Buffer.alloc(WAV_HEADER_BYTES + dataBytes);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size for PCM
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(WAV_SAMPLE_RATE, 24);
  wav.writeUInt32LE(WAV_SAMPLE_RATE * WAV_BYTES_PER_SAMPLE, 28); // byte rate
  wav.writeUInt16LE(WAV_BYTES_PER_SAMPLE, 32); // block align
  wav.writeUInt16LE(8 * WAV_BYTES_PER_SAMPLE, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataBytes, 40);
  return wav;
}

/** MPEG-1 Layer III, 32 kbit/s, 44.1 kHz, no padding, mono: 144 × 32000 / 44100 → 104 bytes. */
export const MP3_FRAME_HEADER = Buffer.from([0xff, 0xfb, 0x10, 0xc0]);
export const MP3_FRAME_BYTES = 104;
/** 1152 samples per Layer III frame at 44.1 kHz. */
export const MP3_FRAME_SECONDS = 1152 / 44100;

export function silentMp3(durationSeconds: number): Buffer {
  // At least one frame, so even a zero-length recording is a decodable file.
  const frames = Math.max(1, Math.ceil(servedSeconds(durationSeconds) / MP3_FRAME_SECONDS));
  const mp3 = Buffer.alloc(frames * MP3_FRAME_BYTES);
  for (let i = 0; i < frames; i += 1) MP3_FRAME_HEADER.copy(mp3, i * MP3_FRAME_BYTES);
  return mp3;
}

export type AudioFormat = 'wav' | 'mp3';

export const AUDIO_CONTENT_TYPE: Record<AudioFormat, string> = { wav: 'audio/x-wav', mp3: 'audio/mpeg' };

export function silentAudio(format: AudioFormat, durationSeconds: number): Buffer {
  return format === 'wav' ? silentWav(durationSeconds) : silentMp3(durationSeconds);
}
