// The room's recording, as the page shows it: the indicator everyone sees (a red dot and
// "Recording", announced to screen readers), the mentor's start/stop control, and the question a
// learner answers before being in a recording: be in it (camera and microphone may be on) or stay
// out of it (they stay off while it records). The server holds the rules (sockets/recording.py):
// a learner who is not in the recording can't turn media on while it runs, whatever this page does.
//
// Mixed into the `room` component (index.js). No getters here: the mix is a spread, which would
// freeze a getter's value. `call` reaches the media engine, whose `request` and `on` speak the
// room's socket protocol.

import { t } from '../../i18n.js';

const CLOSED_STATE = { enabled: false, available: false, reason: '', recording: false, since: null, consent: null };

export function recordingPart(call) {
  let listening = false;

  return {
    rec: { ...CLOSED_STATE },
    recBusy: false,

    // From the join answer (engine.join), before the camera starts: the state, and the question.
    recordingJoined(state) {
      this.rec = { ...CLOSED_STATE, ...(state || {}) };
      if (!listening) {
        listening = true;
        call('on', 'recording:state', (event) => this.recordingChanged(event));
      }
      if (this.rec.recording && this.recordingNeedsAnswer()) this.askRecording();
    },

    // Turned on or off by the mentor (or by this page's own start/stop, echoed to everyone).
    recordingChanged({ recording, since }) {
      const was = this.rec.recording;
      this.rec.recording = Boolean(recording);
      this.rec.since = since || null;
      if (was === this.rec.recording) return;
      this.announce(this.rec.recording ? t('Recording started') : t('Recording stopped'));
      if (!this.rec.recording || this.config.isMentor) return;
      if (this.recordingNeedsAnswer()) this.askRecording();
      else if (this.rec.consent === false) {
        this.holdForRecording();
        call('notice', t('Recording started. You chose to stay out of it: your camera and microphone stay off.'), 'info');
      } else call('notice', t('Recording started. You chose to be in it.'), 'info');
    },

    recordingNeedsAnswer() {
      return !this.config.isMentor && this.rec.enabled && this.rec.consent === null;
    },

    // While it records, a learner who is not in it keeps camera, microphone and screen off.
    recordingBlocks() {
      return !this.config.isMentor && this.rec.recording && this.rec.consent !== true;
    },

    // The engine turned something on (the first capture, a device switch): off again if blocked.
    watchRecording() {
      for (const field of ['mic', 'cam', 'sharing']) {
        this.$watch(field, (on) => {
          if (on && this.recordingBlocks()) this.holdForRecording();
        });
      }
    },

    holdForRecording() {
      if (this.mic) call('setMic', false);
      if (this.cam) call('setCam', false);
      if (this.sharing) call('stopScreen');
    },

    // A control was pressed while blocked: say why (or ask, if not answered yet). True if held.
    recordingHolds() {
      if (!this.recordingBlocks()) return false;
      if (this.rec.consent === null) this.askRecording();
      else {
        call(
          'notice',
          t('This session is being recorded and you chose to stay out of it. Choose “Be in the recording” from the Recording indicator to turn your camera or microphone on.'),
          'info',
        );
      }
      return true;
    },

    askRecording() {
      this.holdForRecording();
      this.openRecordingChoice();
    },

    // The indicator, pressed by a learner: the question again, to change their answer.
    openRecordingChoice() {
      const dialog = this.$refs.recordingDialog;
      if (dialog && !dialog.open && !this.config.isMentor) dialog.showModal();
    },

    // The dialog's buttons (and Esc, which counts as staying out).
    async answerRecording(consented) {
      const dialog = this.$refs.recordingDialog;
      if (dialog && dialog.open) dialog.close();
      if (!consented) this.holdForRecording();
      const reply = await call('request', 'recording:consent', { consented });
      if (!reply || !reply.ok) {
        call('notice', (reply && reply.error && reply.error.message) || t('Your answer was not saved. Try again.'), 'error');
        return;
      }
      this.rec.consent = reply.consent;
      this.rec.recording = Boolean(reply.recording);
      this.rec.since = reply.since || null;
      this.announce(
        consented
          ? t('You are in the recording. Turn your camera and microphone on when you are ready.')
          : t('You are staying out of the recording. Your camera and microphone stay off while it records.'),
      );
    },

    declineRecording(event) {
      if (event) event.preventDefault();
      return this.answerRecording(false);
    },

    // The mentor's control.
    async toggleRecording() {
      if (this.recBusy || !this.config.isMentor) return;
      if (!this.rec.available) {
        call('notice', this.rec.reason || t('This room can’t be recorded.'), 'info');
        return;
      }
      this.recBusy = true;
      try {
        const reply = await call('request', this.rec.recording ? 'recording:stop' : 'recording:start');
        // A refusal arrives as an `error` event too, which the engine shows.
        if (reply && reply.ok) this.recordingChanged(reply);
      } finally {
        this.recBusy = false;
      }
    },

    recordingLabel() {
      return this.rec.recording ? t('Stop recording') : t('Record');
    },

    recordingTitle() {
      if (!this.rec.available) return this.rec.reason || t('This room can’t be recorded.');
      return this.rec.recording ? t('Stop recording this session') : t('Start recording this session');
    },
  };
}
