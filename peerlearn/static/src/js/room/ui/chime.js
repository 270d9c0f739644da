// A soft two-note chime for the mentor when a hand goes up, made with WebAudio (no sound file).

let context = null;

export function chime() {
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (!AudioContextClass) return;
  try {
    context = context || new AudioContextClass();
    // Suspended until the page has had a click; the toast still shows if it stays silent.
    if (context.state === 'suspended') context.resume().catch(() => {});
    const start = context.currentTime + 0.01;
    [660, 880].forEach((frequency, index) => {
      const at = start + index * 0.14;
      const tone = context.createOscillator();
      const gain = context.createGain();
      tone.type = 'sine';
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.07, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.35);
      tone.connect(gain).connect(context.destination);
      tone.start(at);
      tone.stop(at + 0.4);
    });
  } catch {
    // No sound is better than a broken room.
  }
}
