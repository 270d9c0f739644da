// `recordingPlayer`: the playback page's video (x-ref="video") and the chapters and chat times
// beside it, each a button with `data-seek-ms` (its place in the video) and `@click="seek"`.
// Seeking plays from there: the click is the person's gesture, so the browser allows it.

export default function recordingPlayer() {
  return {
    seek(event) {
      const video = this.$refs.video;
      const ms = Number(event.currentTarget.dataset.seekMs);
      if (!video || !Number.isFinite(ms)) return;
      video.currentTime = ms / 1000;
      const playing = video.play();
      // A browser refusing to play (no audio output, a policy) still shows the frame sought.
      if (playing) playing.catch(() => {});
    },
  };
}
